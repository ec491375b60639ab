/** What one dead letter says about itself, read from the headers the runtime writes (src/policies/dead-letter.ts). */
import type { Message } from 'amqplib';
import { deadLetterHeader, replayHeader } from '../../policies/dead-letter.js';

export interface DeadLetterSummary {
  /** 1 for the head of the dead-letter queue. */
  readonly position: number;
  readonly messageId: string | null;
  readonly reason: string | null;
  readonly failureKind: string | null;
  readonly attempts: number | null;
  readonly originalQueue: string | null;
  /** The service and consumer that dead-lettered it (none for the broker's own dead-lettering). */
  readonly service: string | null;
  readonly consumer: string | null;
  readonly deadLetteredAt: string | null;
  /** From `x-ackstate-dead-lettered-at` to now; null when that header is missing or unreadable. */
  readonly ageMs: number | null;
  readonly size: number;
  readonly contentType: string | null;
  /** How many times it was replayed before (a replayed message that failed again carries the count). */
  readonly replayCount: number;
}

export type DeadLetterMessage = Pick<Message, 'content' | 'properties'>;

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const count = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : typeof value === 'bigint' ? Number(value) : null;

/** What the broker itself records when it dead-letters a message (a quorum queue's delivery limit, for one). */
export const brokerDeathHeader = { reason: 'x-first-death-reason', queue: 'x-first-death-queue' } as const;

function brokerReason(headers: Readonly<Record<string, unknown>>): string | null {
  const reason = text(headers[brokerDeathHeader.reason]);
  return reason === null ? null : `dead-lettered by the broker: ${reason}`;
}

export function headersOf(message: DeadLetterMessage): Readonly<Record<string, unknown>> {
  return (message.properties.headers ?? {}) as Record<string, unknown>;
}

export function summarizeDeadLetter(message: DeadLetterMessage, position: number, now: Date): DeadLetterSummary {
  const headers = headersOf(message);
  const deadLetteredAt = text(headers[deadLetterHeader.deadLetteredAt]);
  const time = deadLetteredAt === null ? Number.NaN : Date.parse(deadLetteredAt);
  return {
    position,
    messageId: text(message.properties.messageId),
    reason: text(headers[deadLetterHeader.reason]) ?? brokerReason(headers),
    failureKind: text(headers[deadLetterHeader.kind]),
    attempts: count(headers[deadLetterHeader.attempts]),
    originalQueue: text(headers[deadLetterHeader.queue]) ?? text(headers[brokerDeathHeader.queue]),
    service: text(headers[deadLetterHeader.service]),
    consumer: text(headers[deadLetterHeader.consumer]),
    deadLetteredAt,
    ageMs: Number.isNaN(time) ? null : Math.max(0, now.getTime() - time),
    size: message.content.length,
    contentType: text(message.properties.contentType),
    replayCount: count(headers[replayHeader.count]) ?? 0,
  };
}
