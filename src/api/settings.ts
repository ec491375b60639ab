/**
 * A consumer's settings, spelled once: the schema below names each setting with its bounds, and the types a
 * user writes (`ConsumerSettings`), the runtime resolves (`ResolvedConsumerSettings`) and the defaults
 * follow from it. The same schema checks the runtime-wide `consumers` option and each consumer's own.
 */
import { z } from 'zod';
import { integer } from './integer.js';

/** Consumer settings, runtime-wide or a consumer's own. */
export const consumerSettingsSchema = z.strictObject({
  /** Unacked deliveries the broker sends ahead (AMQP prefetch). Default 256. */
  prefetch: integer(1, 65_535).optional(),
  /** Messages in one transaction at most; 1 runs every message alone. Default 64. */
  maxBatch: integer(1, 1_000).optional(),
  /** Transactions of this consumer at once. Default 2. */
  batchConcurrency: integer(1, 100).optional(),
  /** Failed attempts (counted durably in PostgreSQL) before a message is dead-lettered. Default 5. */
  maxAttempts: integer(1, 1_000).optional(),
  /** The in-process wait of an immediate retry: `baseMs * 2^(attempt-1)` with equal jitter, capped at `maxMs`. Default 200 and 30,000. */
  retry: z
    .strictObject({ baseMs: integer(1, 3_600_000).optional(), maxMs: integer(1, 3_600_000).optional() })
    .optional(),
  /**
   * Failed attempts retried in process (a short wait, then a nack) before retries move to the broker's
   * delay queues. Default 3; 0 sends the first retry to a delay queue.
   */
  immediateRetries: integer(0, 1_000).optional(),
  /**
   * The waits of the delayed retries, in milliseconds (whole seconds): the first delayed retry waits the
   * first, and so on, the last one for every later retry. Each is a delay queue `<queue>.retry.<seconds>s`.
   * Default 10 s, 60 s, 300 s; `[]` keeps every retry in process.
   */
  delayedRetriesMs: z
    .array(integer(1_000, 86_400_000).refine((ms) => ms % 1_000 === 0, 'must be a whole number of seconds'))
    .max(20)
    .optional(),
  /** A larger body is poison. Default 65,536 bytes. */
  messageMaxBytes: integer(256, 100 * 1024 * 1024).optional(),
});

/** What the schema accepts, read-only all the way down; every setting may be left out. */
type Given<T> = T extends readonly (infer Item)[]
  ? readonly Item[]
  : T extends object
    ? { readonly [Key in keyof T]?: Given<NonNullable<T[Key]>> | undefined }
    : T;

/** What the schema accepts with every setting filled in, read-only all the way down. */
type Filled<T> = T extends readonly (infer Item)[]
  ? readonly Item[]
  : T extends object
    ? { readonly [Key in keyof T]-?: Filled<NonNullable<T[Key]>> }
    : T;

/** How a consumer takes and retries its messages; each one left out takes the runtime's default. */
export type ConsumerSettings = Given<z.input<typeof consumerSettingsSchema>>;

/** Settings with every default filled in: what a consumer actually runs with. */
export type ResolvedConsumerSettings = Filled<z.output<typeof consumerSettingsSchema>>;

/** The names of the settings, as `defineConsumer` picks them out of a consumer's definition. */
export const consumerSettingNames = consumerSettingsSchema.keyof().options;

/**
 * The runtime's defaults, for every consumer that does not set its own. Two batches of 64 in flight take half
 * of the prefetch window, so the other half is already delivered when one commits and the next can start at
 * once (docs/benchmarks.md, ackstate's sweep).
 */
export const defaultConsumerSettings: ResolvedConsumerSettings = {
  prefetch: 256,
  maxBatch: 64,
  batchConcurrency: 2,
  maxAttempts: 5,
  retry: { baseMs: 200, maxMs: 30_000 },
  immediateRetries: 3,
  delayedRetriesMs: [10_000, 60_000, 300_000],
  messageMaxBytes: 64 * 1024,
};

/** `values` without the keys for which `kept` is false. */
function only<T extends object>(values: T, kept: (value: unknown) => boolean): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => kept(value))) as Partial<T>;
}

const isDefined = (value: unknown) => value !== undefined;
// A null (from JavaScript) falls back to the default as undefined does; the schema reports it all the same.
const isSet = (value: unknown) => value !== undefined && value !== null;

/** The settings among a consumer definition's fields, those left out (or undefined) dropped. */
export function settingsOf(definition: ConsumerSettings): ConsumerSettings {
  return only(Object.fromEntries(consumerSettingNames.map((name) => [name, definition[name]])), isDefined);
}

/** A consumer's own settings over the runtime's defaults. */
export function resolveSettings(defaults: ResolvedConsumerSettings, own: ConsumerSettings): ResolvedConsumerSettings {
  return { ...defaults, ...only(own, isSet), retry: { ...defaults.retry, ...only(own.retry ?? {}, isSet) } };
}

/**
 * The rule that spans two settings and so cannot be checked one setting at a time: checked on the resolved
 * settings, since a consumer's own `baseMs` may meet the runtime's `maxMs`. `prefix` goes before each name.
 */
export function settingsProblems(settings: ResolvedConsumerSettings, prefix = ''): string[] {
  return settings.retry.baseMs > settings.retry.maxMs
    ? [`${prefix}retry.baseMs must not exceed ${prefix}retry.maxMs`]
    : [];
}
