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
  /** The in-process wait of an immediate retry: `baseMs * 2^(attempt-1)` with equal jitter, capped at `maxMs`. Default 200 and 30,000. */
  readonly retry?: { readonly baseMs?: number | undefined; readonly maxMs?: number | undefined } | undefined;
  /**
   * Failed attempts retried in process (a short wait, then a nack) before retries move to the broker's
   * delay queues. Default 3; 0 sends the first retry to a delay queue.
   */
  readonly immediateRetries?: number | undefined;
  /**
   * The waits of the delayed retries, in milliseconds (whole seconds): the first delayed retry waits the
   * first, and so on, the last one for every later retry. Each is a delay queue `<queue>.retry.<seconds>s`.
   * Default 10 s, 60 s, 300 s; `[]` keeps every retry in process.
   */
  readonly delayedRetriesMs?: readonly number[] | undefined;
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
  readonly immediateRetries: number;
  readonly delayedRetriesMs: readonly number[];
  readonly messageMaxBytes: number;
}

export const defaultConsumerSettings: ResolvedConsumerSettings = {
  prefetch: 50,
  maxBatch: 32,
  batchConcurrency: 2,
  maxAttempts: 5,
  retry: { baseMs: 200, maxMs: 30_000 },
  immediateRetries: 3,
  delayedRetriesMs: [10_000, 60_000, 300_000],
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
    immediateRetries: own.immediateRetries ?? defaults.immediateRetries,
    delayedRetriesMs: own.delayedRetriesMs ?? defaults.delayedRetriesMs,
    messageMaxBytes: own.messageMaxBytes ?? defaults.messageMaxBytes,
  };
}
