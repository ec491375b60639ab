import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

/** The tables every service shares the shape of: inbox, outbox and durable attempt counts. */
export const messagingTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('inbox')
      .addColumn('consumer', 'text', (col) => col.notNull())
      .addColumn('message_key', 'text', (col) => col.notNull())
      .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('inbox_pkey', ['consumer', 'message_key'])
      .execute();

    await db.schema
      .createTable('outbox')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('queue', 'text', (col) => col.notNull())
      .addColumn('body', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn('next_attempt_at', 'timestamptz', (col) => col.notNull())
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('sent_at', 'timestamptz')
      .addColumn('last_error', 'text')
      .execute();
    await sql`CREATE INDEX outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL`.execute(db);

    await db.schema
      .createTable('delivery_attempts')
      .addColumn('consumer', 'text', (col) => col.notNull())
      .addColumn('message_key', 'text', (col) => col.notNull())
      .addColumn('attempts', 'integer', (col) => col.notNull())
      .addColumn('last_error', 'text')
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('delivery_attempts_pkey', ['consumer', 'message_key'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('delivery_attempts').execute();
    await db.schema.dropTable('outbox').execute();
    await db.schema.dropTable('inbox').execute();
  },
};
