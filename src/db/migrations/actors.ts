import type { Kysely, Migration } from 'kysely';
import { sql } from 'kysely';

/**
 * The durable actors' tables (see `../actor-schema.ts`): instances, their timers and their history. The
 * checks keep `status` and `closed_at` in step, so retention can trust `closed_at` alone.
 */
const actorTables: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('actor_instances')
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('instance_id', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) => col.notNull())
      .addColumn('snapshot', 'jsonb', (col) => col.notNull())
      .addColumn('row_version', 'integer', (col) => col.notNull().defaultTo(1))
      .addColumn('definition_version', 'integer', (col) => col.notNull())
      .addColumn('status', 'text', (col) => col.notNull().defaultTo('active'))
      .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn('closed_at', 'timestamptz')
      .addPrimaryKeyConstraint('actor_instances_pkey', ['actor', 'instance_id'])
      .addCheckConstraint('actor_instances_status', sql`status IN ('active', 'done')`)
      .addCheckConstraint('actor_instances_closed', sql`(status = 'done') = (closed_at IS NOT NULL)`)
      .execute();
    // Counts by state, and lists by state in the order they were created.
    await sql`CREATE INDEX actor_instances_state ON actor_instances (actor, state, created_at)`.execute(db);
    await sql`CREATE INDEX actor_instances_closed_at ON actor_instances (closed_at) WHERE closed_at IS NOT NULL`.execute(
      db,
    );

    await db.schema
      .createTable('actor_timers')
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('instance_id', 'text', (col) => col.notNull())
      .addColumn('timer_id', 'text', (col) => col.notNull())
      .addColumn('token', 'uuid', (col) => col.notNull().defaultTo(sql`gen_random_uuid()`))
      .addColumn('event', 'jsonb', (col) => col.notNull())
      .addColumn('due_at', 'timestamptz', (col) => col.notNull())
      .addColumn('sent_at', 'timestamptz')
      .addPrimaryKeyConstraint('actor_timers_pkey', ['actor', 'instance_id', 'timer_id'])
      .execute();
    await sql`CREATE INDEX actor_timers_due ON actor_timers (due_at) WHERE sent_at IS NULL`.execute(db);
    // Claimed timers are few (they are deleted when applied): the lease's release finds them without a scan.
    await sql`CREATE INDEX actor_timers_claimed ON actor_timers (sent_at) WHERE sent_at IS NOT NULL`.execute(db);

    await db.schema
      .createTable('actor_history')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('instance_id', 'text', (col) => col.notNull())
      .addColumn('event_type', 'text', (col) => col.notNull())
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text', (col) => col.notNull())
      .addColumn('at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn('message_id', 'text')
      .addColumn('published', sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'`))
      .execute();
    await sql`CREATE INDEX actor_history_instance ON actor_history (actor, instance_id, id)`.execute(db);
    await sql`CREATE INDEX actor_history_at ON actor_history (at)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('actor_history').execute();
    await db.schema.dropTable('actor_timers').execute();
    await db.schema.dropTable('actor_instances').execute();
  },
};

/**
 * The actors' migrations, named to follow `messagingMigrations` in the runtime's own migration table
 * (`messagingMigrationTable`): merge them into that record, `{ ...messagingMigrations, ...actorMigrations }`.
 */
export const actorMigrations: Readonly<Record<string, Migration>> = {
  '0005_actor_tables': actorTables,
};
