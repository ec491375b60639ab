/**
 * The seed's system on ackstate: which services a mode runs, and the runtime options that the
 * environment's settings (config.ts) stand for.
 */
import type { Logger, RuntimeOptions, Service } from 'ackstate';
import { cardService } from './card/card-service.js';
import type { Config } from './config.js';
import { readBrokerTls } from './tls-settings.js';
import { userService } from './user/user-service.js';

export const modes = ['both', 'user', 'card'] as const;
export type Mode = (typeof modes)[number];

/** Both services in one process (`both`), or one of them alone: it needs nothing of the other but the queues. */
export function servicesFor(mode: Mode, config: Config): Service[] {
  return [
    ...(mode === 'both' || mode === 'user' ? [userService(config)] : []),
    ...(mode === 'both' || mode === 'card' ? [cardService(config)] : []),
  ];
}

export function runtimeOptions(config: Config, services: readonly Service[], logger: Logger): RuntimeOptions {
  return {
    broker: {
      urls: config.AMQP_URL.split(',')
        .map((url) => url.trim())
        .filter((url) => url.length > 0),
      tls: readBrokerTls(config),
      queueType: config.QUEUE_TYPE,
      deliveryLimit: config.QUORUM_DELIVERY_LIMIT,
      publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
      heartbeatSeconds: config.AMQP_HEARTBEAT_SECONDS,
    },
    services,
    http: { host: config.HTTP_HOST, port: config.HTTP_PORT, bodyLimit: config.HTTP_BODY_LIMIT },
    ...(config.ADMIN_PORT !== undefined && { admin: { host: config.ADMIN_HOST, port: config.ADMIN_PORT } }),
    consumers: {
      prefetch: config.PREFETCH,
      maxBatch: config.MAX_BATCH,
      batchConcurrency: config.BATCH_CONCURRENCY,
      maxAttempts: config.MAX_ATTEMPTS,
      retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
      immediateRetries: config.IMMEDIATE_RETRIES,
      delayedRetriesMs: config.DELAYED_RETRY_SECONDS.map((seconds) => seconds * 1_000),
      messageMaxBytes: config.MESSAGE_MAX_BYTES,
    },
    outbox: {
      leaseMs: config.OUTBOX_LEASE_MS,
      pollMs: config.OUTBOX_POLL_MS,
      ...(config.OUTBOX_MAX_POLL_MS !== undefined && { maxPollMs: config.OUTBOX_MAX_POLL_MS }),
    },
    retention: {
      deduplicationWindowMs: config.DEDUPLICATION_WINDOW_MS,
      sentOutboxGraceMs: config.SENT_OUTBOX_GRACE_MS,
      intervalMs: config.RETENTION_INTERVAL_MS,
    },
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logger,
    failpoints: config.FAILPOINTS,
  };
}
