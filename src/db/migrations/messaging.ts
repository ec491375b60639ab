import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

/**
 * The runtime's own tables in every service database: inbox, outbox and durable attempt counts. They are
 * migrated by the runtime, in a migration table of its own, before the service's migrations. The first
 * migration creates only what is missing: databases of ackstate 0.1 already have these tables.
 */
const messagingTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('inbox')
      .ifNotExists()
      .addColumn('consumer', 'text', (col) => col.notNull())
      .addColumn('message_key', 'text', (col) => col.notNull())
      .addColumn('received_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('inbox_pkey', ['consumer', 'message_key'])
      .execute();

    await db.schema
      .createTable('outbox')
      .ifNotExists()
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('queue', 'text', (col) => col.notNull())
      .addColumn('body', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn('next_attempt_at', 'timestamptz', (col) => col.notNull())
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('sent_at', 'timestamptz')
      .addColumn('last_error', 'text')
      .execute();
    await sql`CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL`.execute(db);

    await db.schema
      .createTable('delivery_attempts')
      .ifNotExists()
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

/** Outgoing messages to any exchange with a routing key and headers, not only to a queue. */
const outboxExchanges: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE outbox RENAME COLUMN queue TO routing_key`.execute(db);
    await sql`ALTER TABLE outbox ADD COLUMN exchange text NOT NULL DEFAULT ''`.execute(db);
    await sql`ALTER TABLE outbox ADD COLUMN headers jsonb`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`ALTER TABLE outbox DROP COLUMN headers`.execute(db);
    await sql`ALTER TABLE outbox DROP COLUMN exchange`.execute(db);
    await sql`ALTER TABLE outbox RENAME COLUMN routing_key TO queue`.execute(db);
  },
};

/**
 * What the retention sweeps look rows up by: the inbox by when it was received, sent outbox rows by when
 * they were sent (unsent rows stay out of this index, as they stay out of every sweep), attempt counts by
 * when they last changed. Built inside the migration's transaction: on a large table of 0.1 the build
 * holds off writes to that table while it runs.
 */
const retentionIndexes: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`CREATE INDEX IF NOT EXISTS inbox_received_at ON inbox (received_at)`.execute(db);
    await sql`CREATE INDEX IF NOT EXISTS outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL`.execute(db);
    await sql`CREATE INDEX IF NOT EXISTS delivery_attempts_updated_at ON delivery_attempts (updated_at)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`DROP INDEX IF EXISTS delivery_attempts_updated_at`.execute(db);
    await sql`DROP INDEX IF EXISTS outbox_sent_at`.execute(db);
    await sql`DROP INDEX IF EXISTS inbox_received_at`.execute(db);
  },
};

/** The reason of every counted attempt, for the dead letter of a message that failed them all. */
const attemptReasons: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`ALTER TABLE delivery_attempts ADD COLUMN reasons text[] NOT NULL DEFAULT '{}'`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`ALTER TABLE delivery_attempts DROP COLUMN reasons`.execute(db);
  },
};

export const messagingMigrations: Readonly<Record<string, Migration>> = {
  '0001_messaging_tables': messagingTables,
  '0002_outbox_exchanges': outboxExchanges,
  '0003_retention_indexes': retentionIndexes,
  '0004_attempt_reasons': attemptReasons,
};

/** Where the runtime records its own migrations, apart from each service's. */
export const messagingMigrationTable = 'ackstate_migration';
