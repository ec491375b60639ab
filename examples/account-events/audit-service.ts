/**
 * The audit service: its own queue, bound to the topic exchange by a pattern (`account.#`), so it sees
 * every account event, including ones the welcome service never receives; appends a row per event.
 */
import { defineConsumer, defineService, type Exchange, type Service } from 'ackstate';
import type { ColumnType, Generated, Kysely, Migration, Transaction } from 'kysely';
import { sql } from 'kysely';
import { accountEventSchema } from './messages.js';

interface AuditDatabase {
  audit_log: {
    id: Generated<string>;
    event: string;
    /** The routing key the event was published with: what the binding's pattern matched. */
    routing_key: string;
    account_id: string;
    body: ColumnType<unknown, string, never>;
    recorded_at: ColumnType<Date, never, never>;
  };
}

const migrations: Record<string, Migration> = {
  '0001_audit_log': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
        .addColumn('event', 'text', (col) => col.notNull())
        .addColumn('routing_key', 'text', (col) => col.notNull())
        .addColumn('account_id', 'uuid', (col) => col.notNull())
        .addColumn('body', 'jsonb', (col) => col.notNull())
        .addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
};

export function auditService(options: {
  readonly databaseUrl: string;
  readonly queue: string;
  readonly events: Exchange;
  /** `account.#` by default; `#` would take every event of the exchange. */
  readonly pattern?: string;
}): Service {
  const appendToAuditLog = defineConsumer({
    queue: options.queue,
    bindings: [{ exchange: options.events, routingKey: options.pattern ?? 'account.#' }],
    schema: accountEventSchema,
    key: (event) => `${event.type}:${event.id}`,
    async handle(trx: Transaction<AuditDatabase>, event, _out, delivery) {
      await trx
        .insertInto('audit_log')
        .values({
          event: event.type,
          routing_key: delivery.routingKey,
          account_id: event.id,
          body: JSON.stringify(event),
        })
        .execute();
    },
    describe: { completed: (event) => `audited ${event.type} of account ${event.id}` },
  });
  return defineService({
    name: 'audit',
    database: { url: options.databaseUrl, migrations, migrationTable: 'audit_migration' },
    consumers: [appendToAuditLog],
  });
}
