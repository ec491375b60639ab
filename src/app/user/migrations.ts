import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

const usersAndCards: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('users')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('email', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .execute();
    // An email is taken whatever its case: Ada@example.com and ada@example.com are one person.
    await sql`CREATE UNIQUE INDEX users_email_unique ON users (lower(email))`.execute(db);

    await db.schema
      .createTable('cards')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('user_id', 'uuid', (col) => col.notNull().unique().references('users.id'))
      .addColumn('number', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('stored_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('cards').execute();
    await db.schema.dropTable('users').execute();
  },
};

export const userServiceMigrations: Readonly<Record<string, Migration>> = {
  // The runtime has created the inbox, outbox and attempt tables itself since 0.2 (in ackstate_migration);
  // the name stays so that databases migrated by 0.1, which ran it here, keep a consistent history.
  '0001_messaging_tables': { up: async () => {} },
  '0002_users_and_cards': usersAndCards,
};
