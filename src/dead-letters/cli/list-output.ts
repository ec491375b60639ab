/** `dlq list` output: an aligned table for people, a JSON document for programs. */
import type { DeadLetterSummary } from './dead-letter-summary.js';
import { escapeForTerminal, escapeJsonForTerminal } from './terminal-text.js';
import { formatAge, formatSize } from './units.js';

/** The full reason is in `dlq show`; the table keeps each dead letter on one readable line. */
const maxReasonInTable = 160;

const columns: readonly { readonly title: string; readonly cell: (letter: DeadLetterSummary) => string }[] = [
  { title: 'POS', cell: (letter) => String(letter.position) },
  { title: 'MESSAGE ID', cell: (letter) => letter.messageId ?? '-' },
  { title: 'KIND', cell: (letter) => letter.failureKind ?? '-' },
  { title: 'ATTEMPTS', cell: (letter) => (letter.attempts === null ? '-' : String(letter.attempts)) },
  { title: 'AGE', cell: (letter) => (letter.ageMs === null ? '-' : formatAge(letter.ageMs)) },
  { title: 'SIZE', cell: (letter) => formatSize(letter.size) },
  { title: 'REPLAYS', cell: (letter) => String(letter.replayCount) },
  { title: 'REASON', cell: (letter) => shorten(letter.reason ?? '-', maxReasonInTable) },
];

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function formatListTable(deadLetterQueue: string, letters: readonly DeadLetterSummary[]): string {
  const name = escapeForTerminal(deadLetterQueue);
  if (letters.length === 0) return `no dead letters in ${name}\n`;
  const rows = letters.map((letter) => columns.map((column) => escapeForTerminal(column.cell(letter))));
  const widths = columns.map((column, index) =>
    Math.max(column.title.length, ...rows.map((row) => row[index]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, index) => (index === cells.length - 1 ? cell : cell.padEnd(widths[index]!))).join('  ');
  const noun = letters.length === 1 ? 'dead letter' : 'dead letters';
  return (
    [`${letters.length} ${noun} in ${name}`, line(columns.map((column) => column.title)), ...rows.map(line)].join(
      '\n',
    ) + '\n'
  );
}

export function formatListJson(queue: string, deadLetterQueue: string, letters: readonly DeadLetterSummary[]): string {
  const document = {
    queue,
    deadLetterQueue,
    count: letters.length,
    deadLetters: letters.map(({ ageMs, ...letter }) => ({
      ...letter,
      ageSeconds: ageMs === null ? null : ageMs / 1000,
    })),
  };
  return `${escapeJsonForTerminal(JSON.stringify(document, null, 2))}\n`;
}
