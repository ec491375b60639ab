/**
 * The retention of one database: the retention machine, provided with the batch that removes expired rows
 * of one table, and with the database's intervals. Several instances sweeping one database share the work:
 * each batch skips the rows another one has locked.
 */
import { fromPromise } from 'xstate';
import type { ResolvedRetention } from '../../api/retention.js';
import type { MessagingDb } from '../../db/messaging-queries.js';
import { removeExpiredBatch } from '../../db/retention-queries.js';
import { retentionMachine, type BatchRemoved, type RetentionTable } from '../../machines/retention.js';

/** A batch the database does not finish in this time is cancelled by it, and the machine backs off. */
const statementTimeoutMs = 5_000;

export interface RetentionActorOptions {
  readonly db: MessagingDb;
  readonly retention: ResolvedRetention;
}

export function retentionLogic({ db, retention }: RetentionActorOptions) {
  return retentionMachine.provide({
    actors: {
      removeBatch: fromPromise<BatchRemoved, { table: RetentionTable; limit: number }>(async ({ input }) => {
        const started = performance.now();
        const removed = await removeExpiredBatch(db, input.table, {
          windows: retention,
          limit: input.limit,
          statementTimeoutMs,
        });
        return { removed, ms: performance.now() - started };
      }),
    },
    delays: { interval: retention.intervalMs, batchPause: retention.batchPauseMs },
  });
}
