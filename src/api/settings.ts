/** How a consumer takes and retries its messages; each one left out takes the runtime's default. */
export interface ConsumerSettings {
  /** Unacked deliveries the broker sends ahead (AMQP prefetch). Default 50. */
  readonly prefetch?: number | undefined;
  /** Messages in one transaction at most; 1 runs every message alone. Default 32. */
  readonly maxBatch?: number | undefined;
  /** Transactions of this consumer at once. Default 2. */
  readonly batchConcurrency?: number | undefined;
  /** Failed attempts (counted durably in PostgreSQL) before a message is dead-lettered. Default 5. */
  readonly maxAttempts?: number | undefined;
  /** The retry delay: `baseMs * 2^(attempt-1)` with equal jitter, capped at `maxMs`. Default 200 and 30,000. */
  readonly retry?: { readonly baseMs?: number | undefined; readonly maxMs?: number | undefined } | undefined;
  /** A larger body is poison. Default 65,536 bytes. */
  readonly messageMaxBytes?: number | undefined;
}

/** Settings with every default filled in: what a consumer actually runs with. */
export interface ResolvedConsumerSettings {
  readonly prefetch: number;
  readonly maxBatch: number;
  readonly batchConcurrency: number;
  readonly maxAttempts: number;
  readonly retry: { readonly baseMs: number; readonly maxMs: number };
  readonly messageMaxBytes: number;
}

export const defaultConsumerSettings: ResolvedConsumerSettings = {
  prefetch: 50,
  maxBatch: 32,
  batchConcurrency: 2,
  maxAttempts: 5,
  retry: { baseMs: 200, maxMs: 30_000 },
  messageMaxBytes: 64 * 1024,
};

/** A consumer's own settings over the runtime's defaults. */
export function resolveSettings(defaults: ResolvedConsumerSettings, own: ConsumerSettings): ResolvedConsumerSettings {
  return {
    prefetch: own.prefetch ?? defaults.prefetch,
    maxBatch: own.maxBatch ?? defaults.maxBatch,
    batchConcurrency: own.batchConcurrency ?? defaults.batchConcurrency,
    maxAttempts: own.maxAttempts ?? defaults.maxAttempts,
    retry: { baseMs: own.retry?.baseMs ?? defaults.retry.baseMs, maxMs: own.retry?.maxMs ?? defaults.retry.maxMs },
    messageMaxBytes: own.messageMaxBytes ?? defaults.messageMaxBytes,
  };
}
