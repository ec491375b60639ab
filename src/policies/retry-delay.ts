/**
 * How long a failed delivery waits before it is handed back to the broker: exponential in the attempt
 * number, capped, with "equal jitter" so that a burst of failures does not come back as a burst.
 */
export interface RetryDelayPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

export function retryDelayMs(policy: RetryDelayPolicy, attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}
