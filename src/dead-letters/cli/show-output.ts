/** `dlq show` output: one dead letter in full, every property and header, and its body shown safely. */
import { summarizeDeadLetter, headersOf, type DeadLetterMessage } from './dead-letter-summary.js';
import { presentProperties, toJsonValue } from './field-values.js';
import { decodeUtf8, renderBody, type BodyEncoding } from './message-body.js';
import { escapeForTerminal, escapeJsonForTerminal } from './terminal-text.js';
import { formatAge, formatSize } from './units.js';

export interface ShownDeadLetter {
  readonly message: DeadLetterMessage;
  readonly position: number;
}

const bodyTitles: Readonly<Record<BodyEncoding, string>> = {
  json: 'JSON, re-indented',
  text: 'UTF-8 text, control characters escaped',
  base64: 'not UTF-8, base64',
};

const value = (field: unknown) => escapeJsonForTerminal(JSON.stringify(toJsonValue(field)));

function timestampNote(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? ` (${new Date(seconds * 1000).toISOString()})` : '';
}

export function formatShowText(deadLetterQueue: string, total: number, shown: ShownDeadLetter, now: Date): string {
  const { message, position } = shown;
  const summary = summarizeDeadLetter(message, position, now);
  const safe = (text: string | null) => (text === null ? '-' : escapeForTerminal(text));
  const age = summary.ageMs === null ? '' : ` (${formatAge(summary.ageMs)} ago)`;
  const properties = presentProperties(message.properties as unknown as Record<string, unknown>);
  const body = renderBody(message.content);
  const lines = [
    `dead letter ${position} of ${total} in ${escapeForTerminal(deadLetterQueue)}`,
    `message id:     ${safe(summary.messageId)}`,
    `reason:         ${safe(summary.reason)}`,
    `failure kind:   ${safe(summary.failureKind)}`,
    `attempts:       ${summary.attempts ?? '-'}`,
    `original queue: ${safe(summary.originalQueue)}`,
    `consumed by:    ${summary.service === null ? '-' : `${safe(summary.service)} / ${safe(summary.consumer)}`}`,
    `dead-lettered:  ${safe(summary.deadLetteredAt)}${age}`,
    `replays:        ${summary.replayCount}`,
    `size:           ${formatSize(summary.size)}`,
    '',
    'properties:',
    ...Object.entries(properties).map(
      ([name, field]) =>
        `  ${escapeForTerminal(name)}: ${value(field)}${name === 'timestamp' ? timestampNote(field) : ''}`,
    ),
    'headers:',
    ...Object.entries(headersOf(message)).map(([name, field]) => `  ${escapeForTerminal(name)}: ${value(field)}`),
    `body (${bodyTitles[body.encoding]}):`,
    body.text,
  ];
  return `${lines.join('\n')}\n`;
}

/** Lossless for programs: the body as UTF-8 text when it is valid UTF-8, otherwise base64. */
export function showJsonDocument(deadLetterQueue: string, total: number, shown: ShownDeadLetter, now: Date) {
  const { message, position } = shown;
  const { ageMs, ...summary } = summarizeDeadLetter(message, position, now);
  const text = decodeUtf8(message.content);
  return {
    deadLetterQueue,
    total,
    ...summary,
    ageSeconds: ageMs === null ? null : ageMs / 1000,
    properties: presentProperties(message.properties as unknown as Record<string, unknown>),
    headers: toJsonValue(headersOf(message)),
    body:
      text === undefined
        ? { encoding: 'base64', data: Buffer.from(message.content).toString('base64'), json: false }
        : { encoding: 'utf-8', data: text, json: renderBody(message.content).encoding === 'json' },
  };
}

export function formatShowJson(documents: readonly ReturnType<typeof showJsonDocument>[]): string {
  return `${escapeJsonForTerminal(JSON.stringify(documents, null, 2))}\n`;
}
