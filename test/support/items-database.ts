/**
 * A fresh database of a test file's own with one table, `items (id int PRIMARY KEY, note text NOT NULL)`, on
 * the runtime's driver: what the driver-level tests (pipelined driver, transactions) run their statements on.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { createDatabase, dropDatabase, ensureDatabaseExists } from '../../src/db/database.js';
import { postgresServer } from './environment.js';

export interface ItemsTables {
  items: { id: number; note: string };
}

/** `create()` in `test.before`, `drop()` in `test.after.always`; `url` for other connections to the same database. */
export function itemsDatabase(label: string, maxConnections: number) {
  const url = `${postgresServer}/ackstate_t_${label}_${randomBytes(4).toString('hex')}`;
  let db: Kysely<ItemsTables> | undefined;
  return {
    url,
    async create(): Promise<Kysely<ItemsTables>> {
      await ensureDatabaseExists(url);
      db = createDatabase<ItemsTables>({ url, maxConnections });
      await sql`CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL)`.execute(db);
      return db;
    },
    async drop(): Promise<void> {
      await db?.destroy();
      await dropDatabase(url);
    },
  };
}
