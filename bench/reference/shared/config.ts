/** The reference pipelines read the same environment variables as ackstate (the subset it needs). */
export interface ReferenceConfig {
  readonly amqpUrl: string;
  readonly userDbUrl: string;
  readonly cardDbUrl: string;
  readonly userQueue: string;
  readonly cardQueue: string;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly prefetch: number;
  readonly outboxLeaseMs: number;
  readonly outboxPollMs: number;
  /** Batched reference only: most messages, or users created over HTTP, in one transaction. */
  readonly maxBatch: number;
  /** Batched reference only: transactions at once per consumer, and for the HTTP group commit. */
  readonly batchConcurrency: number;
  /** Batched reference only: how long a consumer waits for more messages before it commits a batch. */
  readonly lingerMs: number;
}

const env = (name: string, fallback: string) => (process.env[name] ? process.env[name]! : fallback);

export function loadReferenceConfig(): ReferenceConfig {
  return {
    amqpUrl: env('AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672'),
    userDbUrl: env('USER_DB_URL', 'postgres://postgres@127.0.0.1:5432/reference_user'),
    cardDbUrl: env('CARD_DB_URL', 'postgres://postgres@127.0.0.1:5432/reference_card'),
    userQueue: env('USER_QUEUE', 'reference_user_queue'),
    cardQueue: env('CARD_QUEUE', 'reference_card_queue'),
    httpHost: env('HTTP_HOST', '127.0.0.1'),
    httpPort: Number(env('HTTP_PORT', '3100')),
    prefetch: Number(env('PREFETCH', '50')),
    outboxLeaseMs: Number(env('OUTBOX_LEASE_MS', '15000')),
    outboxPollMs: Number(env('OUTBOX_POLL_MS', '1000')),
    maxBatch: Number(env('MAX_BATCH', '32')),
    batchConcurrency: Number(env('BATCH_CONCURRENCY', '2')),
    lingerMs: Number(env('LINGER_MS', '1')),
  };
}
