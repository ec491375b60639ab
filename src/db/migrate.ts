import type { Kysely, Migration } from 'kysely';
import { Migrator } from 'kysely';
import { describeError } from '../policies/describe-error.js';

/**
 * Brings a database to the latest migration, recorded in `table` (Kysely's `kysely_migration` by default).
 * Kysely's Migrator holds a lock, so concurrent starts are safe.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  migrations: Readonly<Record<string, Migration>>,
  table?: string,
): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    ...(table !== undefined && { migrationTableName: table, migrationLockTableName: `${table}_lock` }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((result) => result.status === 'Error');
    const where = failed ? ` in migration ${failed.migrationName}` : '';
    throw new Error(`database migration failed${where}: ${describeError(error)}`);
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
