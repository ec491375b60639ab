/** Markdown pieces every table of docs/benchmarks.md is made of. */

export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const cell = (value: string | number | null) =>
    value === null || (typeof value === 'number' && !Number.isFinite(value)) ? '–' : String(value);
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** Which command made a results file, when, and at which commit. */
export function producedBy(report: {
  readonly command: string;
  readonly date: string;
  readonly machine: { readonly commit: string | undefined };
}): string {
  const commit = report.machine.commit ?? '?';
  return `Produced by \`${report.command}\` on ${report.date.slice(0, 16).replace('T', ' ')} UTC, commit \`${commit}\``;
}

export const times = (value: number | null) => (value === null ? null : `${value}×`);
