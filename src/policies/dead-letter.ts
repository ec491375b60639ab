/**
 * What a dead letter carries: the original body and properties, and in headers why it died, after how
 * many attempts, from which queue and when. Original headers are kept as they were, unless they could not be
 * published again (then they are dropped, and a header says why).
 */
import type { ClassifiedFailure } from './classify-error.js';
import { attemptReasonsHeader, boundedReason } from './delayed-retry.js';
import { headerTableProblem } from './header-table.js';

/**
 * The headers ackstate writes on every dead letter, by meaning: what a tool reading `<queue>.dead` looks for.
 *
 * @example
 * ```ts
 * const reason = message.properties.headers?.[deadLetterHeader.reason];
 * ```
 */
export const deadLetterHeader = {
  reason: 'x-ackstate-reason',
  kind: 'x-ackstate-failure-kind',
  attempts: 'x-ackstate-attempts',
  /** The reason of each counted attempt, oldest first (the latest 20, each cut at 500 characters). */
  attemptReasons: attemptReasonsHeader,
  queue: 'x-ackstate-original-queue',
  /** The service and the consumer that gave up on the message. */
  service: 'x-ackstate-service',
  consumer: 'x-ackstate-consumer',
  messageId: 'x-ackstate-original-message-id',
  contentType: 'x-ackstate-original-content-type',
  redelivered: 'x-ackstate-redelivered',
  deadLetteredAt: 'x-ackstate-dead-lettered-at',
  /** Set when the original headers could not be carried over (too large or not encodable), and why. */
  headersDropped: 'x-ackstate-original-headers-dropped',
} as const;

/** Set by `ackstate dlq replay` on a dead letter it puts back on its queue. */
export const replayHeader = {
  replayedAt: 'x-ackstate-replayed-at',
  count: 'x-ackstate-replay-count',
  from: 'x-ackstate-replayed-from',
} as const;

/**
 * The key a message's failed attempts are counted under. A replayed dead letter counts afresh: each replay
 * has a row of its own, so that one failure after a replay does not dead-letter it again at once.
 */
export function attemptsKeyOf(key: string, headers: Readonly<Record<string, unknown>>): string {
  const replays = headers[replayHeader.count];
  return typeof replays === 'number' && Number.isInteger(replays) && replays > 0 ? `${key}#replay-${replays}` : key;
}

const maxReasonLength = 2_000;

export interface DeadLetterSource {
  readonly queue: string;
  readonly service?: string;
  readonly consumer?: string;
  readonly messageId: string | undefined;
  readonly contentType: string | undefined;
  readonly redelivered: boolean;
  readonly headers: Readonly<Record<string, unknown>>;
}

export function deadLetterHeaders(
  source: DeadLetterSource,
  failure: ClassifiedFailure,
  attempts: number,
  now: Date = new Date(),
  attemptReasons: readonly string[] = [boundedReason(failure.reason)],
): Record<string, unknown> {
  const reason =
    failure.reason.length > maxReasonLength ? `${failure.reason.slice(0, maxReasonLength)}…` : failure.reason;
  const ours = {
    [deadLetterHeader.reason]: reason,
    [deadLetterHeader.kind]: failure.kind,
    [deadLetterHeader.attempts]: attempts,
    [deadLetterHeader.attemptReasons]: [...attemptReasons],
    [deadLetterHeader.queue]: source.queue,
    ...(source.service !== undefined && { [deadLetterHeader.service]: source.service }),
    ...(source.consumer !== undefined && { [deadLetterHeader.consumer]: source.consumer }),
    [deadLetterHeader.messageId]: source.messageId ?? null,
    [deadLetterHeader.contentType]: source.contentType ?? null,
    [deadLetterHeader.redelivered]: source.redelivered,
    [deadLetterHeader.deadLetteredAt]: now.toISOString(),
  };
  // Headers that could not be published again would make the dead letter fail on every attempt: a loop.
  const carried = { ...source.headers, ...ours };
  const problem = headerTableProblem(carried);
  return problem === undefined ? carried : { ...ours, [deadLetterHeader.headersDropped]: problem };
}
