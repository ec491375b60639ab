/**
 * The two levels of retries. A failed attempt up to `immediateRetries` is retried in process (a short
 * backoff, then a nack); a later one is handed to the broker: published to a delay queue of its consumer,
 * `<queue>.retry.<seconds>s`, whose message TTL dead-letters it back to the consumer's queue. Every message
 * of one delay queue has the same TTL, so the one at its head is always the next to expire (a per-message
 * TTL in one queue would expire only at the head, holding shorter waits behind longer ones).
 */

/** What decides a failed message's retry: a consumer's resolved settings. */
export interface RetryLevels {
  readonly immediateRetries: number;
  readonly delayedRetriesMs: readonly number[];
}

/** Delay queues carry the reasons of the attempts so far; dead letters carry all of them. */
export const attemptReasonsHeader = 'x-ackstate-attempt-reasons';

/** Where a delayed message was first published, so that its handler still sees it when it comes back. */
export const delayedFromHeader = {
  exchange: 'x-ackstate-delayed-from-exchange',
  routingKey: 'x-ackstate-delayed-from-routing-key',
} as const;

/** At most this many reasons are kept (the latest), each cut at `maxReasonLength` characters: about 10 KB. */
export const maxAttemptReasons = 20;
export const maxReasonLength = 500;

/** The delay queue of `queue` for waits of `delayMs`. */
export const delayQueueName = (queue: string, delayMs: number) => `${queue}.retry.${Math.round(delayMs / 1_000)}s`;

/**
 * The wait before the retry that follows failed attempt number `attempts` when the broker is to hold it,
 * or undefined when it is an immediate retry (in process).
 */
export function delayedRetryMs(levels: RetryLevels, attempts: number): number | undefined {
  const { immediateRetries, delayedRetriesMs } = levels;
  if (attempts <= immediateRetries || delayedRetriesMs.length === 0) return undefined;
  return delayedRetriesMs[Math.min(attempts - immediateRetries, delayedRetriesMs.length) - 1];
}

/**
 * The distinct delays a consumer can use before its last attempt (`maxAttempts`, which is dead-lettered):
 * one delay queue each. Levels no attempt reaches are not declared.
 */
export function delayLevels(levels: RetryLevels & { readonly maxAttempts: number }): number[] {
  const used = new Set<number>();
  const last = Math.min(levels.maxAttempts - 1, levels.immediateRetries + levels.delayedRetriesMs.length);
  for (let attempts = levels.immediateRetries + 1; attempts <= last; attempts += 1) {
    const delay = delayedRetryMs(levels, attempts);
    if (delay !== undefined) used.add(delay);
  }
  return [...used];
}

/** True for a message that a delay queue returned: it failed before, so it runs alone and clears its count. */
export function returnedFromDelay(headers: Readonly<Record<string, unknown>>): boolean {
  return headers[attemptReasonsHeader] !== undefined && Array.isArray(headers['x-death']);
}

/** `reason` cut to the header's bound. */
export function boundedReason(reason: string): string {
  return reason.length > maxReasonLength ? `${reason.slice(0, maxReasonLength)}…` : reason;
}

/** The reasons a message carries in its headers, if any (only strings are taken, whatever a producer set). */
export function attemptReasonsOf(headers: Readonly<Record<string, unknown>>): string[] {
  const value = headers[attemptReasonsHeader];
  return Array.isArray(value) ? value.filter((each): each is string => typeof each === 'string') : [];
}

/** `reasons` with `reason` added, keeping the latest `maxAttemptReasons`, each bounded. */
export function withReason(reasons: readonly string[], reason: string): string[] {
  return [...reasons, reason].slice(-maxAttemptReasons).map(boundedReason);
}

/**
 * The longest a failing message can take from its first attempt to its dead letter: every immediate retry
 * at the backoff's cap, plus every delayed wait. An attempt count must outlive it (retention).
 */
export function longestRetryMs(
  levels: RetryLevels & { readonly maxAttempts: number; readonly retry: { readonly maxMs: number } },
): number {
  let total = 0;
  for (let attempts = 1; attempts < levels.maxAttempts; attempts += 1) {
    total += delayedRetryMs(levels, attempts) ?? levels.retry.maxMs;
  }
  return total;
}
