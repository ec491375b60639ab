// Several instances starting together race to create and migrate their database: every one of them
// must start, and the migrations must run once.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { Kysely } from 'kysely';
import { createDatabase, dropDatabase, ensureDatabaseExists } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { userServiceMigrations } from '../src/app/user/migrations.js';
import { postgresServer, query } from './support/environment.js';

const racers = 8;

test('concurrent starts on a missing database: each creates or finds it, and the migrations run once', async (t) => {
  const url = `${postgresServer}/ackstate_t_race_${randomBytes(4).toString('hex')}`;
  const name = new URL(url).pathname.slice(1);
  const databases: Kysely<unknown>[] = [];
  t.teardown(async () => {
    await Promise.all(databases.map((db) => db.destroy().catch(() => {})));
    await dropDatabase(url);
  });

  await t.notThrowsAsync(Promise.all(Array.from({ length: racers }, () => ensureDatabaseExists(url))));
  const found = await query(`${postgresServer}/postgres`, 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  t.is(found.length, 1);

  for (let index = 0; index < racers; index += 1) databases.push(createDatabase<unknown>({ url, maxConnections: 2 }));
  const applied = await Promise.all(databases.map((db) => migrateToLatest(db, userServiceMigrations)));
  t.deepEqual(
    applied.flat().sort(),
    Object.keys(userServiceMigrations).sort(),
    'each migration applied by exactly one racer',
  );
  const recorded = await query<{ name: string }>(url, 'SELECT name FROM kysely_migration ORDER BY name');
  t.deepEqual(
    recorded.map((row) => row.name),
    Object.keys(userServiceMigrations).sort(),
  );
});
