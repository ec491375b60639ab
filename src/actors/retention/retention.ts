/**
 * The retention of one database: the retention machine, provided with the batch that removes expired rows
 * of one table, and with the database's intervals. Several instances sweeping one database share the work:
 * each batch skips the rows another one has locked.
 */
import { fromPromise } from 'xstate';
import type { ResolvedRetention } from '../../api/retention.js';
import { removeClosedInstancesBatch, removeOldHistoryBatch } from '../../db/actor-retention-queries.js';
import type { MessagingDb } from '../../db/messaging-queries.js';
import { removeExpiredBatch } from '../../db/retention-queries.js';
import { retentionMachine, type BatchRemoved, type RetentionTable } from '../../machines/retention.js';

/** A batch the database does not finish in this time is cancelled by it, and the machine backs off. */
const statementTimeoutMs = 5_000;

export interface RetentionActorOptions {
  readonly db: MessagingDb;
  readonly retention: ResolvedRetention;
}

/**
 * One batch of one table. A closed actor instance is kept for the deduplication window (a late duplicate
 * still meets it) and goes with its history; a running instance's history older than the window goes too.
 */
async function removeBatch(db: MessagingDb, retention: ResolvedRetention, table: RetentionTable, limit: number) {
  const actorBatch = { olderThanMs: retention.deduplicationWindowMs, limit, statementTimeoutMs };
  switch (table) {
    case 'actor_instances':
      return (await removeClosedInstancesBatch(db, actorBatch)).instances;
    case 'actor_history':
      return removeOldHistoryBatch(db, actorBatch);
    default:
      return removeExpiredBatch(db, table, { windows: retention, limit, statementTimeoutMs });
  }
}

export function retentionLogic({ db, retention }: RetentionActorOptions) {
  return retentionMachine.provide({
    actors: {
      removeBatch: fromPromise<BatchRemoved, { table: RetentionTable; limit: number }>(async ({ input }) => {
        const started = performance.now();
        const removed = await removeBatch(db, retention, input.table, input.limit);
        return { removed, ms: performance.now() - started };
      }),
    },
    delays: { interval: retention.intervalMs, batchPause: retention.batchPauseMs },
  });
}
