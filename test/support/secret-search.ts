/** Looks for secrets, as written and in their URL-encoded forms, in captured text. */
export function secretForms(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), encodeURI(secret), JSON.stringify(secret).slice(1, -1)])];
}

/** Every place (by label) whose text holds one of the secrets in any of its forms. */
export function findSecrets(places: ReadonlyMap<string, string>, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const [label, text] of places) {
    for (const secret of secrets) {
      for (const form of secretForms(secret)) {
        const at = text.indexOf(form);
        if (at !== -1) {
          const around = text
            .slice(Math.max(0, at - 80), at + form.length + 20)
            .split(form)
            .join('<SECRET>');
          found.push(`${label}: …${around}…`);
        }
      }
    }
  }
  return found;
}
