import { z } from 'zod';
import { defaultConsumerSettings as consumer } from 'ackstate';
import { tlsSettingProblems } from './tls-settings.js';

/**
 * Every setting comes from the environment. A bad value stops start-up with a message that names the
 * variable, so a typo never runs with a silent default.
 */
const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL');
const queueName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'may hold only letters, digits and _ . : -');

const queueTypes = ['classic', 'quorum'] as const;

export const configSchema = z.object({
  AMQP_URL: z
    .string()
    .default('amqp://guest:guest@127.0.0.1:5672')
    .refine(
      (value) => value.split(',').every((url) => /^amqps?:\/\/[^\s]+$/.test(url.trim())),
      'must be one amqp:// or amqps:// URL, or several separated by commas',
    ),
  /** PEM files for amqps:// URLs: the CA to trust, and the client certificate and key (read at start). */
  AMQP_CA_FILE: z.string().optional(),
  AMQP_CERT_FILE: z.string().optional(),
  AMQP_KEY_FILE: z.string().optional(),
  USER_DB_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/user_service'),
  CARD_DB_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/card_service'),
  /** How long a statement may wait for PostgreSQL's answer before its connection is ended (an outage). */
  DB_QUERY_TIMEOUT_MS: integer(100, 3_600_000).default(30_000),
  /** false: no named prepared statements (behind PgBouncer in transaction mode before 1.21). */
  DB_PREPARED_STATEMENTS: z
    .enum(['true', 'false'], 'must be true or false')
    .transform((text) => text === 'true')
    .default(true),
  HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  HTTP_PORT: integer(0, 65535).default(3000),
  /** Where the admin routes (/viz) listen when ADMIN_PORT separates them from the API. */
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  /** Unset: the admin routes share the API's port. Set: they move to this port, and off the API's. */
  ADMIN_PORT: integer(0, 65535).optional(),
  HTTP_BODY_LIMIT: integer(256, 10 * 1024 * 1024).default(16 * 1024),
  /** The consumer settings' defaults are the runtime's (`defaultConsumerSettings`), spelled once. */
  PREFETCH: integer(1, 65535).default(consumer.prefetch),
  /** Messages of a consumer (or users created over HTTP) in one transaction at most; 1: each alone. */
  MAX_BATCH: integer(1, 1000).default(consumer.maxBatch),
  /** Transactions at once of one consumer's batches (and of the HTTP group commit). */
  BATCH_CONCURRENCY: integer(1, 100).default(consumer.batchConcurrency),
  MAX_ATTEMPTS: integer(1, 1000).default(consumer.maxAttempts),
  RETRY_BASE_MS: integer(1, 3_600_000).default(consumer.retry.baseMs),
  RETRY_MAX_MS: integer(1, 3_600_000).default(consumer.retry.maxMs),
  /** Failed attempts retried in process before retries move to the broker's delay queues. */
  IMMEDIATE_RETRIES: integer(0, 1000).default(consumer.immediateRetries),
  /** The waits of the delayed retries, in seconds, comma-separated; `none`: every retry in process. */
  DELAYED_RETRY_SECONDS: z
    .string()
    .regex(/^(none|\d{1,5}(,\d{1,5}){0,19})$/, 'must be seconds separated by commas (1-86400 each), or none')
    .transform((text) => (text === 'none' ? [] : text.split(',').map(Number)))
    .refine((seconds) => seconds.every((each) => each >= 1 && each <= 86_400), 'each wait must be 1-86400 seconds')
    .default(consumer.delayedRetriesMs.map((ms) => ms / 1_000)),
  PUBLISH_TIMEOUT_MS: integer(100, 600_000).default(5_000),
  /** The AMQP heartbeat: a connection silent for about twice this long is taken for lost. */
  AMQP_HEARTBEAT_SECONDS: integer(1, 600).default(5),
  OUTBOX_LEASE_MS: integer(500, 3_600_000).default(15_000),
  OUTBOX_POLL_MS: integer(50, 600_000).default(1_000),
  /** The relay's longest wait between sweeps that find nothing. Unset: the larger of 5,000 and OUTBOX_POLL_MS. */
  OUTBOX_MAX_POLL_MS: integer(50, 600_000).optional(),
  MESSAGE_MAX_BYTES: integer(256, 100 * 1024 * 1024).default(consumer.messageMaxBytes),
  /** How long inbox rows (and quiet attempt counts) are kept: duplicates within it are absorbed. 7 days. */
  DEDUPLICATION_WINDOW_MS: integer(1_000, 3_650 * 86_400_000).default(7 * 86_400_000),
  /** How long an outbox row is kept once its message was confirmed. 1 day. */
  SENT_OUTBOX_GRACE_MS: integer(0, 3_650 * 86_400_000).default(86_400_000),
  /** The wait between two retention sweeps of a database. */
  RETENTION_INTERVAL_MS: integer(10, 86_400_000).default(60_000),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(15_000),
  /** classic: the seed's single-node queues. quorum: replicated queues for a cluster (docs/operations.md, Running in production). */
  QUEUE_TYPE: z.enum(queueTypes).default('classic'),
  /** Quorum queues only: deliveries after which the broker dead-letters a message; above MAX_ATTEMPTS. */
  QUORUM_DELIVERY_LIMIT: integer(2, 100_000).default(100),
  USER_QUEUE: queueName.default('user_queue'),
  CARD_QUEUE: queueName.default('card_queue'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  FAILPOINTS: z.string().default(''),
});

export type Config = z.infer<typeof configSchema>;
export const configVariables = Object.keys(configSchema.shape) as (keyof Config)[];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    configVariables.filter((key) => env[key] !== undefined && env[key] !== '').map((key) => [key, env[key]]),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  if (parsed.data.RETRY_BASE_MS > parsed.data.RETRY_MAX_MS) {
    throw new ConfigError('invalid configuration: RETRY_BASE_MS must not exceed RETRY_MAX_MS');
  }
  if (parsed.data.OUTBOX_MAX_POLL_MS !== undefined && parsed.data.OUTBOX_POLL_MS > parsed.data.OUTBOX_MAX_POLL_MS) {
    throw new ConfigError('invalid configuration: OUTBOX_POLL_MS must not exceed OUTBOX_MAX_POLL_MS');
  }
  if (parsed.data.QUEUE_TYPE === 'quorum' && parsed.data.QUORUM_DELIVERY_LIMIT <= parsed.data.MAX_ATTEMPTS) {
    throw new ConfigError(
      'invalid configuration: QUORUM_DELIVERY_LIMIT must be greater than MAX_ATTEMPTS; otherwise the broker ' +
        "dead-letters a failing message before the runtime's attempt count does, without its reason headers",
    );
  }
  if (parsed.data.DEDUPLICATION_WINDOW_MS <= parsed.data.MAX_ATTEMPTS * parsed.data.RETRY_MAX_MS) {
    throw new ConfigError(
      'invalid configuration: DEDUPLICATION_WINDOW_MS must be longer than MAX_ATTEMPTS × RETRY_MAX_MS; otherwise ' +
        'the attempt count of a message could be removed while it is still being retried',
    );
  }
  const tlsProblems = tlsSettingProblems(parsed.data);
  if (tlsProblems.length > 0) throw new ConfigError(`invalid configuration: ${tlsProblems.join('; ')}`);
  return parsed.data;
}
