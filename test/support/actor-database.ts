/**
 * A fresh database of the test's own holding the runtime's tables with the actors' (migrated as the runtime
 * would: one migration table), dropped when the test ends, whether it passed or not. No broker is involved.
 */
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import type { ControlledTransaction, Kysely } from 'kysely';
import pg from 'pg';
import { actorTablesOf, type ActorDb, type ActorTables } from '../../src/db/actor-schema.js';
import { createDatabase, dropDatabase, ensureDatabaseExists } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { actorMigrations } from '../../src/db/migrations/actors.js';
import { messagingMigrations, messagingMigrationTable } from '../../src/db/migrations/messaging.js';
import { postgresServer } from './environment.js';

export interface ActorDatabase {
  readonly db: ActorDb;
  readonly url: string;
  readonly name: string;
}

/**
 * A database for one test, with the runtime's migrations and the actors' applied (unless `migrated` is
 * false: an empty database), at most `maxConnections` pooled connections.
 */
export async function actorDatabase(
  t: ExecutionContext,
  label: string,
  { maxConnections = 10, migrated = true } = {},
): Promise<ActorDatabase> {
  const name = `ackstate_t_actor_${label
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 20)
    .toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const url = `${postgresServer}/${name}`;
  await ensureDatabaseExists(url);
  const db = actorTablesOf(createDatabase<unknown>({ url, maxConnections }));
  t.teardown(async () => {
    // Dropped first (WITH FORCE): a transaction a failed test left open, or a statement it left waiting,
    // ends with its session, and the pool can then close.
    await dropDatabase(url);
    await db.destroy();
  });
  if (migrated) {
    await migrateToLatest(
      db as Kysely<unknown>,
      { ...messagingMigrations, ...actorMigrations },
      messagingMigrationTable,
    );
  }
  return { db, url, name };
}

/**
 * A transaction the test commits or rolls back itself, rolled back (without waiting) if the test ends first.
 */
export async function begin(t: ExecutionContext, db: ActorDb): Promise<ControlledTransaction<ActorTables>> {
  const trx = await db.startTransaction().execute();
  t.teardown(() => {
    if (!trx.isCommitted && !trx.isRolledBack)
      void trx
        .rollback()
        .execute()
        .catch(() => {});
  });
  return trx;
}

/**
 * Waits until `count` sessions on database `name` wait for a lock (a row lock or a transaction's): the only
 * way to know, without timing, that a concurrent statement has got as far as blocking.
 */
export async function waitForLockWaiters(url: string, name: string, count = 1, boundMs = 60_000): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const deadline = Date.now() + boundMs;
    for (;;) {
      const { rows } = await client.query<{ waiting: number }>(
        "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        [name],
      );
      if ((rows[0]?.waiting ?? 0) >= count) return;
      if (Date.now() > deadline) throw new Error(`no ${count} session(s) waiting for a lock after ${boundMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await client.end();
  }
}
