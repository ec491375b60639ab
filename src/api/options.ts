/**
 * The runtime's options: one typed object, checked at start. A bad value stops `startRuntime` with an
 * `OptionsError` naming the option (`consumers.prefetch`, `broker.urls`), never running on a silent default.
 */
import type { Logger } from 'winston';
import { z } from 'zod';
import {
  resolveRetention,
  retentionOptionsSchema,
  type ResolvedRetention,
  type RetentionOptions,
} from './retention.js';
import type { Service } from './service.js';
import { integer } from './integer.js';
import {
  consumerSettingsSchema,
  defaultConsumerSettings,
  resolveSettings,
  settingsProblems,
  type ConsumerSettings,
  type ResolvedConsumerSettings,
} from './settings.js';

/** `classic`: the seed's single-node durable queues. `quorum`: replicated queues for a cluster. */
export type QueueType = 'classic' | 'quorum';

/** PEM contents for amqps:// URLs: the CA to trust, and a client certificate and key. */
export interface BrokerTls {
  readonly ca?: Buffer | string;
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
}

/**
 * Everything `startRuntime` needs.
 *
 * @example
 * ```ts
 * const runtime = await startRuntime({
 *   broker: { urls: ['amqp://guest:guest@127.0.0.1:5672'] },
 *   http: { port: 3000 },
 *   services: [cards, users],
 *   consumers: { prefetch: 100, maxAttempts: 3 },
 * });
 * ```
 */
export interface RuntimeOptions {
  readonly broker: {
    /** One URL, or several of one cluster: the connection fails over between them. */
    readonly urls: string | readonly string[];
    readonly tls?: BrokerTls;
    /** Default `classic`. */
    readonly queueType?: QueueType;
    /** Quorum queues only: deliveries after which the broker dead-letters a message; above every `maxAttempts`. Default 100. */
    readonly deliveryLimit?: number;
    /** A publish with no confirm by then fails (its outbox row waits for the relay). Default 5,000 ms. */
    readonly publishTimeoutMs?: number;
    /** The AMQP connection's name, shown by the broker's management tools. Default `ackstate`. */
    readonly connectionName?: string;
    /**
     * The AMQP heartbeat, in seconds: a connection that stays silent for about twice this long is taken for
     * lost and connected again (to the next URL). Shorter notices a dead link or a paused node sooner, at a
     * few frames a second of cost. Default 5.
     */
    readonly heartbeatSeconds?: number;
  };
  readonly services: readonly Service[];
  /** The HTTP server (readiness, liveness, the services' routes, and /metrics and /viz unless `admin` moves them). */
  readonly http?: {
    /** Default `127.0.0.1`. */
    readonly host?: string;
    /** Default 3000; 0 takes a free port (see `Runtime.port`). */
    readonly port?: number;
    /** Largest request body in bytes. Default 16,384. */
    readonly bodyLimit?: number;
  };
  /** A second server for /metrics and /viz, which then leave the API's port. */
  readonly admin?: { readonly host?: string; readonly port: number };
  /** Defaults for every consumer; a consumer's own settings win. */
  readonly consumers?: ConsumerSettings;
  readonly outbox?: {
    /** How long a process owns the rows it just committed before any relay may send them. Default 15,000 ms. */
    readonly leaseMs?: number;
    /** How often the relay looks for unsent rows. Default 1,000 ms. */
    readonly pollMs?: number;
    /**
     * While its sweeps find nothing, the relay waits longer between them, doubling from `pollMs` up to this.
     * It bounds how late a row only a sweep finds (left by a crashed process) is sent; a publish after a commit
     * that fails brings the relay back to `pollMs`. Equal to `pollMs`, the wait stays constant. Default the
     * larger of 5,000 ms and `pollMs`.
     */
    readonly maxPollMs?: number;
  };
  /**
   * How long the inbox, sent outbox rows and attempt counts are kept, and how the sweeps that remove them
   * run: the defaults of every service (a service's own `retention` wins). Unsent outbox rows are never removed.
   */
  readonly retention?: RetentionOptions;
  /** How long in-flight deliveries may take to finish on stop. Default 15,000 ms. */
  readonly shutdownTimeoutMs?: number;
  /** Where the log goes (winston); a JSON logger on stdout at `info` when omitted (see `createLogger`). */
  readonly logger?: Logger;
  /**
   * Fault injection for tests: `<service>.persist=error*N` fails a transaction N times,
   * `<service>.beforeAck=exit*N` ends the process before the Nth ack (a batch acked in one frame is one ack).
   * Empty (off) by default.
   */
  readonly failpoints?: string;
}

/** Options with every default filled in. */
export interface ResolvedOptions {
  readonly broker: {
    readonly urls: readonly string[];
    readonly tls: BrokerTls;
    readonly queueType: QueueType;
    readonly deliveryLimit: number;
    readonly publishTimeoutMs: number;
    readonly connectionName: string;
    readonly heartbeatSeconds: number;
  };
  readonly services: readonly Service[];
  readonly http: { readonly host: string; readonly port: number; readonly bodyLimit: number };
  readonly admin: { readonly host: string; readonly port: number } | undefined;
  readonly consumers: ResolvedConsumerSettings;
  readonly outbox: { readonly leaseMs: number; readonly pollMs: number; readonly maxPollMs: number };
  readonly retention: ResolvedRetention;
  readonly shutdownTimeoutMs: number;
  readonly logger: Logger | undefined;
  readonly failpoints: string;
}

/** Options that `startRuntime` refuses, each problem naming its option. */
export class OptionsError extends Error {
  override name = 'OptionsError';
}

const brokerUrl = z.string().regex(/^amqps?:\/\/\S+$/, 'must be an amqp:// or amqps:// URL');
const pem = z.union([z.string(), z.instanceof(Buffer)]);

/** The whole options object; docs/configuration.md's Runtime options table is checked against it. */
export const optionsSchema = z.strictObject({
  broker: z.strictObject({
    urls: z.union([brokerUrl, z.array(brokerUrl).min(1)]),
    tls: z.strictObject({ ca: pem.optional(), cert: pem.optional(), key: pem.optional() }).optional(),
    queueType: z.enum(['classic', 'quorum']).optional(),
    deliveryLimit: integer(2, 100_000).optional(),
    publishTimeoutMs: integer(100, 600_000).optional(),
    connectionName: z.string().min(1).max(200).optional(),
    heartbeatSeconds: integer(1, 600).optional(),
  }),
  services: z.array(
    z.custom<Service>((value) => typeof value === 'object' && value !== null, 'must be made by defineService'),
  ),
  http: z
    .strictObject({
      host: z.string().min(1).optional(),
      port: integer(0, 65_535).optional(),
      bodyLimit: integer(256, 10 * 1024 * 1024).optional(),
    })
    .optional(),
  admin: z.strictObject({ host: z.string().min(1).optional(), port: integer(0, 65_535) }).optional(),
  consumers: consumerSettingsSchema.optional(),
  outbox: z
    .strictObject({
      leaseMs: integer(500, 3_600_000).optional(),
      pollMs: integer(50, 600_000).optional(),
      maxPollMs: integer(50, 600_000).optional(),
    })
    .optional(),
  retention: retentionOptionsSchema.optional(),
  shutdownTimeoutMs: integer(0, 600_000).optional(),
  logger: z
    .custom<Logger>((value) => typeof value === 'object' && value !== null, 'must be a winston logger')
    .optional(),
  failpoints: z.string().optional(),
});

/** Each problem of a zod check as `path: message`, with `prefix.` before the path. */
export function zodProblems(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    const unknownKeys = issue.code === 'unrecognized_keys' ? `: ${issue.keys.join(', ')}` : '';
    return `${path || 'options'}: ${issue.message}${unknownKeys}`;
  });
}

/** The relay's idle polling goes up to 5 s unless told otherwise (never below `pollMs` then). */
const defaultMaxPollMs = 5_000;

function resolveOutbox(outbox: RuntimeOptions['outbox']): ResolvedOptions['outbox'] {
  const pollMs = outbox?.pollMs ?? 1_000;
  return {
    leaseMs: outbox?.leaseMs ?? 15_000,
    pollMs,
    maxPollMs: outbox?.maxPollMs ?? Math.max(defaultMaxPollMs, pollMs),
  };
}

/** Checks the options and fills in the defaults; throws an OptionsError listing every problem. */
export function resolveOptions(options: RuntimeOptions): ResolvedOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new OptionsError(`invalid options: ${zodProblems(parsed.error).join('; ')}`);
  const { broker, http, admin, consumers = {}, outbox, retention } = parsed.data;
  const resolved: ResolvedOptions = {
    broker: {
      urls: typeof broker.urls === 'string' ? [broker.urls] : broker.urls,
      tls: broker.tls ?? {},
      queueType: broker.queueType ?? 'classic',
      deliveryLimit: broker.deliveryLimit ?? 100,
      publishTimeoutMs: broker.publishTimeoutMs ?? 5_000,
      connectionName: broker.connectionName ?? 'ackstate',
      heartbeatSeconds: broker.heartbeatSeconds ?? 5,
    },
    services: options.services,
    http: { host: http?.host ?? '127.0.0.1', port: http?.port ?? 3000, bodyLimit: http?.bodyLimit ?? 16 * 1024 },
    admin: admin && { host: admin.host ?? '127.0.0.1', port: admin.port },
    consumers: resolveSettings(defaultConsumerSettings, consumers),
    outbox: resolveOutbox(outbox),
    retention: resolveRetention(retention),
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 15_000,
    logger: options.logger,
    failpoints: options.failpoints ?? '',
  };
  const [settingsProblem] = settingsProblems(resolved.consumers, 'consumers.');
  if (settingsProblem !== undefined) throw new OptionsError(`invalid options: ${settingsProblem}`);
  if (resolved.outbox.pollMs > resolved.outbox.maxPollMs) {
    throw new OptionsError('invalid options: outbox.pollMs must not exceed outbox.maxPollMs');
  }
  return resolved;
}
