/**
 * Retention of the actors' tables, in bounded batches as `retention-queries.ts` does for the inbox: each batch
 * is one short transaction with a statement and a lock timeout of its own, takes at most `limit` rows, skips
 * rows another transaction holds (SKIP LOCKED), and deletes them by their physical address. Cutoffs are the
 * database's clock. Active instances are never removed, whatever their age.
 */
import type { Kysely } from 'kysely';
import { prepared, type QueryRunner } from './prepared.js';

/** One batch of a sweep. */
export interface ActorRetentionBatch {
  /** Rows older than this (by the database's clock) expire. */
  readonly olderThanMs: number;
  /** At most this many rows (instances, or history rows) per batch. */
  readonly limit: number;
  /** Bound on the batch's statement on the server (and a fifth of it on its lock waits). */
  readonly statementTimeoutMs: number;
}

/** What a batch of `removeClosedInstancesBatch` removed. */
export interface RemovedInstances {
  readonly instances: number;
  /** Their history rows (all of them: a batch's size is bounded by instances, not by transitions). */
  readonly historyRows: number;
}

const setTimeouts = prepared<never, readonly [statementMs: string, lockMs: string]>(
  "SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true)",
);

async function inBoundedTransaction<DB, T>(
  db: Kysely<DB>,
  statementTimeoutMs: number,
  run: (trx: QueryRunner) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await setTimeouts(trx, String(statementTimeoutMs), String(Math.ceil(statementTimeoutMs / 5)));
    return run(trx);
  });
}

// A row updated after the statement's snapshot is locked at a ctid that snapshot cannot see: it is left for a
// later batch, never removed on the strength of an old version.
const deleteClosed = prepared<RemovedInstances, readonly [olderThanMs: number, limit: number]>(
  'WITH gone AS (DELETE FROM actor_instances WHERE ctid = ANY(ARRAY(SELECT ctid FROM actor_instances ' +
    "WHERE closed_at < now() - $1 * interval '1 millisecond' LIMIT $2 FOR UPDATE SKIP LOCKED)) " +
    'RETURNING actor, instance_id), ' +
    'timers AS (DELETE FROM actor_timers AS t USING gone WHERE t.actor = gone.actor AND t.instance_id = gone.instance_id), ' +
    'history AS (DELETE FROM actor_history AS h USING gone WHERE h.actor = gone.actor ' +
    'AND h.instance_id = gone.instance_id RETURNING 1) ' +
    'SELECT (SELECT count(*) FROM gone)::int AS instances, (SELECT count(*) FROM history)::int AS "historyRows"',
);

/**
 * Removes one batch of instances closed (done) more than `olderThanMs` ago, with their history and any timer
 * left; returns how many. Run it until it removes no instance. The window should outlast the deduplication
 * window: a late duplicate that meets no instance may start a new one.
 *
 * @example
 * ```ts
 * const batch = { olderThanMs: 7 * 86_400_000, limit: 1_000, statementTimeoutMs: 5_000 };
 * for (;;) {
 *   const { instances } = await removeClosedInstancesBatch(db, batch);
 *   if (instances === 0) break;
 * }
 * ```
 */
export async function removeClosedInstancesBatch<DB>(
  db: Kysely<DB>,
  { olderThanMs, limit, statementTimeoutMs }: ActorRetentionBatch,
): Promise<RemovedInstances> {
  return inBoundedTransaction(db, statementTimeoutMs, async (trx) => {
    const { rows } = await deleteClosed(trx, olderThanMs, limit);
    return rows[0]!;
  });
}

const deleteOldHistory = prepared<never, readonly [olderThanMs: number, limit: number]>(
  'DELETE FROM actor_history WHERE ctid = ANY(ARRAY(SELECT ctid FROM actor_history ' +
    "WHERE at < now() - $1 * interval '1 millisecond' LIMIT $2 FOR UPDATE SKIP LOCKED))",
);

/**
 * Removes one batch of history rows recorded more than `olderThanMs` ago, of any instance (a long-lived
 * instance keeps only its recent transitions); returns how many. Run it until it returns 0.
 */
export async function removeOldHistoryBatch<DB>(
  db: Kysely<DB>,
  { olderThanMs, limit, statementTimeoutMs }: ActorRetentionBatch,
): Promise<number> {
  return inBoundedTransaction(db, statementTimeoutMs, async (trx) => {
    const result = await deleteOldHistory(trx, olderThanMs, limit);
    return Number(result.numAffectedRows ?? 0);
  });
}
