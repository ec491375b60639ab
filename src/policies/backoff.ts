/**
 * The one backoff formula of ackstate: a delay that doubles with each step from `baseMs`, capped at
 * `maxMs`. Restarts of a failed child, the relay after a failed sweep and the probes of a paused consumer
 * use it as it is; a failed delivery's retry adds "equal jitter" so that a burst of failures does not
 * come back as a burst.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Restarts of a failed machine (supervisor children, a consumer): 250 ms, doubling, up to 30 s. */
export const restartBackoff: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };

/** `baseMs * 2^step`, at most `maxMs`; step 0 is `baseMs`. */
export function backoffMs(policy: BackoffPolicy, step: number): number {
  const exponent = Math.max(0, Math.min(step, 30));
  return Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
}

/** The wait before the `attempt`-th retry (1 for the first): the backoff of `attempt - 1`, with equal jitter. */
export function retryDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const half = backoffMs(policy, attempt - 1) / 2;
  return Math.round(half + random() * half);
}
