/** Hides the password of every URL in a text, so that connection strings can be logged and shown. */
const credentialsInUrl = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/?#\s]*)@/gi;

export function redact(text: string): string {
  return text.replace(credentialsInUrl, '$1***@');
}
