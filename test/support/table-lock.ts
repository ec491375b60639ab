/**
 * Holds every write to a table (and so the transaction of whatever reaches it) until released: an
 * EXCLUSIVE lock in an open transaction of its own. Tests use it to keep deliveries in `persisting`.
 */
import pg from 'pg';

export interface TableLock {
  /** Sessions of the database waiting for a lock (for this one, or another). */
  waiting(): Promise<number>;
  release(): Promise<void>;
}

export async function lockTable(
  t: { teardown(fn: () => Promise<void>): void },
  databaseUrl: string,
  table: string,
): Promise<TableLock> {
  const blocker = new pg.Client({ connectionString: databaseUrl });
  blocker.on('error', () => {});
  await blocker.connect();
  t.teardown(() => blocker.end().catch(() => {}));
  await blocker.query('BEGIN');
  await blocker.query(`LOCK TABLE ${pg.escapeIdentifier(table)} IN EXCLUSIVE MODE`);
  return {
    async waiting() {
      const { rows } = await blocker.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      return Number(rows[0]!.n);
    },
    async release() {
      await blocker.query('COMMIT');
    },
  };
}
