/** A fresh database of the test's own holding the runtime's tables (inbox, outbox, attempts), dropped afterwards. */
import type { ExecutionContext } from 'ava';
import { createDatabase, ensureDatabaseExists } from '../../src/db/database.js';
import { messagingTablesOf } from '../../src/db/messaging-queries.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { messagingMigrations, messagingMigrationTable } from '../../src/db/migrations/messaging.js';
import { createTestEnvironment } from './environment.js';

export async function messagingDatabase(t: ExecutionContext, label: string) {
  const environment = createTestEnvironment(label);
  await ensureDatabaseExists(environment.cardDbUrl);
  const db = messagingTablesOf(createDatabase<unknown>({ url: environment.cardDbUrl }));
  t.teardown(async () => {
    await db.destroy();
    await environment.cleanUp();
  });
  await migrateToLatest(db as never, messagingMigrations, messagingMigrationTable);
  return { db, url: environment.cardDbUrl };
}
