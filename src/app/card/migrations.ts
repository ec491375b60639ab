import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import { messagingTables } from '../../db/migrations/messaging.js';

const usersAndCards: Migration = {
  async up(db: Kysely<unknown>) {
    // Emails are not unique here: uniqueness is the user service's rule, and a message breaking it must
    // not become poison in this service.
    await db.schema
      .createTable('users')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('email', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .execute();

    await db.schema
      .createTable('cards')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('user_id', 'uuid', (col) => col.notNull().unique().references('users.id'))
      .addColumn('number', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('cards').execute();
    await db.schema.dropTable('users').execute();
  },
};

export const cardServiceMigrations: Record<string, Migration> = {
  '0001_messaging_tables': messagingTables,
  '0002_users_and_cards': usersAndCards,
};
