/**
 * The retention sweeps' queries: remove one batch of expired rows of one of the runtime's tables, and read
 * the tables' sizes for /metrics. A batch is one short transaction with a statement and a lock timeout of
 * its own: it locks at most `limit` rows, skips rows another transaction holds (SKIP LOCKED), and deletes
 * them by their physical address (ctid), so it never scans or waits for long. Every cutoff is taken from the
 * database's clock (`now()`), never the process's.
 */
import { sql, type RawBuilder } from 'kysely';
import type { ResolvedRetentionWindows } from '../api/retention.js';
import type { RetentionTable } from '../machines/retention.js';
import type { MessagingDb } from './messaging-queries.js';

export interface RemoveBatchOptions {
  readonly windows: ResolvedRetentionWindows;
  readonly limit: number;
  /** Bound on the DELETE on the server. */
  readonly statementTimeoutMs: number;
}

const ago = (ms: number) => sql`now() - ${ms} * interval '1 millisecond'`;

/** The messaging tables, whose rows expire by age alone (the actors' tables have queries of their own). */
export type MessagingRetentionTable = Exclude<RetentionTable, 'actor_instances' | 'actor_history'>;

/** The expired rows of a table, at most `limit`, locked for this transaction. Unsent outbox rows never qualify. */
function expiredRows(
  table: MessagingRetentionTable,
  windows: ResolvedRetentionWindows,
  limit: number,
): RawBuilder<unknown> {
  switch (table) {
    case 'inbox':
      return sql`SELECT ctid FROM inbox WHERE received_at < ${ago(windows.deduplicationWindowMs)}
        LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    case 'outbox':
      return sql`SELECT ctid FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ${ago(windows.sentOutboxGraceMs)}
        LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
    case 'delivery_attempts':
      // A message still being retried updates its row at every counted failure: only quiet rows expire.
      return sql`SELECT ctid FROM delivery_attempts WHERE updated_at < ${ago(windows.deduplicationWindowMs)}
        LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
  }
}

/** Removes one batch of expired rows of `table`; returns how many. */
export async function removeExpiredBatch(
  db: MessagingDb,
  table: MessagingRetentionTable,
  { windows, limit, statementTimeoutMs }: RemoveBatchOptions,
): Promise<number> {
  return db.transaction().execute(async (transaction) => {
    await sql`SELECT set_config('statement_timeout', ${String(statementTimeoutMs)}, true),
      set_config('lock_timeout', ${String(Math.ceil(statementTimeoutMs / 5))}, true)`.execute(transaction);
    const result = await sql`DELETE FROM ${sql.table(table)}
      WHERE ctid = ANY(ARRAY(${expiredRows(table, windows, limit)}))`.execute(transaction);
    return Number(result.numAffectedRows ?? 0);
  });
}

export interface TableSize {
  readonly table: RetentionTable;
  /**
   * Rows, as the planner estimates them (`pg_class.reltuples`, kept by autovacuum); for a table never
   * analyzed yet, an exact count up to `countLimit`.
   */
  readonly rows: number;
  /** The table with its indexes and TOAST, in bytes. */
  readonly bytes: number;
}

/** The sizes of the runtime's tables, bounded on the server by `statementTimeoutMs`. */
export async function readTableSizes(
  db: MessagingDb,
  statementTimeoutMs: number,
  countLimit = 10_000,
): Promise<TableSize[]> {
  return db.transaction().execute(async (transaction) => {
    await sql`SELECT set_config('statement_timeout', ${String(statementTimeoutMs)}, true)`.execute(transaction);
    const { rows } = await sql<{ table: RetentionTable; rows: number; bytes: number }>`
      SELECT relname AS "table", reltuples::float8 AS rows, pg_total_relation_size(oid)::float8 AS bytes
      FROM pg_class WHERE oid IN ('inbox'::regclass, 'outbox'::regclass, 'delivery_attempts'::regclass,
        'actor_instances'::regclass, 'actor_history'::regclass)`.execute(transaction);
    const sizes: TableSize[] = [];
    for (const row of rows) {
      if (row.rows >= 0) {
        sizes.push(row);
        continue;
      }
      const counted = await sql<{ rows: number }>`
        SELECT count(*)::int AS rows FROM (SELECT 1 FROM ${sql.table(row.table)} LIMIT ${countLimit}) AS bounded`.execute(
        transaction,
      );
      sizes.push({ ...row, rows: counted.rows[0]?.rows ?? 0 });
    }
    return sizes;
  });
}
