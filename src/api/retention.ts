/**
 * How long the runtime's own tables keep their rows: the inbox for a deduplication window, sent outbox rows
 * for a grace period, attempt counts until their message has been quiet for the window. Unsent outbox rows
 * are kept whatever their age. A service may set its own windows; the runtime's `retention` option holds
 * the defaults and how the sweeps run. Services sharing a database share its tables, so the longest of
 * their windows applies to it.
 */
import { z } from 'zod';

const day = 24 * 60 * 60 * 1_000;

/** A service's own retention; each one left out takes the runtime's default. */
export interface RetentionSettings {
  /**
   * How long a consumed message's inbox row is kept, and so how long a duplicate of it is still absorbed; a
   * duplicate arriving later is processed again. Also how long the attempt count of a message that stopped
   * failing (processed, dead-lettered or gone) is kept. Default 7 days.
   */
  readonly deduplicationWindowMs?: number | undefined;
  /** How long an outbox row is kept once the broker confirmed it (for inspection only). Default 1 day. */
  readonly sentOutboxGraceMs?: number | undefined;
}

/** The runtime-wide retention: the services' defaults, and how often and how gently the sweeps run. */
export interface RetentionOptions extends RetentionSettings {
  /** The wait between two sweeps of a database (a sweep goes through its three tables). Default 60,000 ms. */
  readonly intervalMs?: number | undefined;
  /** Rows removed by one statement at most; a slow batch halves the next one. Default 1,000. */
  readonly batchSize?: number | undefined;
  /** The pause after a full batch before the next one, so that a backlog is removed without hogging the database. Default 50 ms. */
  readonly batchPauseMs?: number | undefined;
}

/** The two windows with every default filled in. */
export interface ResolvedRetentionWindows {
  readonly deduplicationWindowMs: number;
  readonly sentOutboxGraceMs: number;
}

export interface ResolvedRetention extends ResolvedRetentionWindows {
  readonly intervalMs: number;
  readonly batchSize: number;
  readonly batchPauseMs: number;
}

export const defaultRetention: ResolvedRetention = {
  deduplicationWindowMs: 7 * day,
  sentOutboxGraceMs: day,
  intervalMs: 60_000,
  batchSize: 1_000,
  batchPauseMs: 50,
};

const integer = (min: number, max: number) => z.number().int().min(min).max(max);

/** A service's own retention settings. */
export const retentionSettingsSchema = z.strictObject({
  deduplicationWindowMs: integer(1_000, 3_650 * day).optional(),
  sentOutboxGraceMs: integer(0, 3_650 * day).optional(),
});

/** The runtime's `retention` option. */
export const retentionOptionsSchema = retentionSettingsSchema.extend({
  intervalMs: integer(10, day).optional(),
  batchSize: integer(1, 100_000).optional(),
  batchPauseMs: integer(0, 60_000).optional(),
});

/** The runtime's retention with its defaults filled in. */
export function resolveRetention(options: RetentionOptions = {}): ResolvedRetention {
  return {
    deduplicationWindowMs: options.deduplicationWindowMs ?? defaultRetention.deduplicationWindowMs,
    sentOutboxGraceMs: options.sentOutboxGraceMs ?? defaultRetention.sentOutboxGraceMs,
    intervalMs: options.intervalMs ?? defaultRetention.intervalMs,
    batchSize: options.batchSize ?? defaultRetention.batchSize,
    batchPauseMs: options.batchPauseMs ?? defaultRetention.batchPauseMs,
  };
}

/**
 * The retention of one database: each window is the longest of the services sharing it (their own, or
 * the runtime's default), so that no service loses a row it still needs to another's shorter window.
 */
export function retentionOfDatabase(
  runtime: ResolvedRetention,
  services: readonly (RetentionSettings | undefined)[],
): ResolvedRetention {
  const longest = (pick: (own: RetentionSettings) => number | undefined, fallback: number) =>
    Math.max(...services.map((own) => (own === undefined ? undefined : pick(own)) ?? fallback));
  return {
    ...runtime,
    deduplicationWindowMs: longest((own) => own.deduplicationWindowMs, runtime.deduplicationWindowMs),
    sentOutboxGraceMs: longest((own) => own.sentOutboxGraceMs, runtime.sentOutboxGraceMs),
  };
}
