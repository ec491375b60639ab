/** Aligned plain-text tables and UTC times, as the actors' commands print them. */
import { escapeForTerminal } from '../dead-letters/cli/terminal-text.js';
import { formatAge } from '../dead-letters/cli/units.js';

/**
 * A header line and one line per row, columns two spaces apart, each as wide as its widest cell; the last
 * column is not padded. Cells are escaped: ids and states come from messages.
 */
export function formatTable(titles: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = rows.map((row) => row.map(escapeForTerminal));
  const widths = titles.map((title, index) => Math.max(title.length, ...cells.map((row) => row[index]!.length)));
  const line = (row: readonly string[]) =>
    row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join('  ');
  return [line(titles), ...cells.map(line)];
}

/** `2026-12-08T00:45:12Z`: UTC to the second, `-` for none. */
export function formatTime(time: Date | null): string {
  return time === null ? '-' : time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** How far `time` is from `now`: `in 1h59m`, `3s ago`. */
export function formatRelative(time: Date, now: Date): string {
  const ms = time.getTime() - now.getTime();
  return ms >= 0 ? `in ${formatAge(ms)}` : `${formatAge(-ms)} ago`;
}
