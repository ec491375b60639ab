/**
 * The welcome service: its own queue, bound to the topic exchange by `account.created`; records, per new
 * account, a welcome email for a mailer to send. It shares its database with the audit service.
 */
import { defineConsumer, defineService, type Exchange, type Service } from 'ackstate';
import type { ColumnType, Kysely, Migration, Transaction } from 'kysely';
import { sql } from 'kysely';
import { accountCreatedSchema } from './messages.js';

interface WelcomeDatabase {
  welcome_emails: {
    account_id: string;
    email: string;
    queued_at: ColumnType<Date, never, never>;
    sent_at: ColumnType<Date | null, never, Date>;
  };
}

const migrations: Record<string, Migration> = {
  '0001_welcome_emails': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('welcome_emails')
        .addColumn('account_id', 'uuid', (col) => col.primaryKey())
        .addColumn('email', 'text', (col) => col.notNull())
        .addColumn('queued_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
        .addColumn('sent_at', 'timestamptz')
        .execute();
    },
  },
};

export function welcomeService(options: {
  readonly databaseUrl: string;
  readonly queue: string;
  readonly events: Exchange;
}): Service {
  const queueWelcomeEmail = defineConsumer({
    queue: options.queue,
    bindings: [{ exchange: options.events, routingKey: 'account.created' }],
    schema: accountCreatedSchema,
    // The inbox deduplicates by this key: a repeat of the event, whatever its message id, does nothing.
    key: (event) => `account:${event.id}`,
    async handle(trx: Transaction<WelcomeDatabase>, event) {
      await trx.insertInto('welcome_emails').values({ account_id: event.id, email: event.email }).execute();
    },
    describe: { completed: (event) => `queued the welcome email of account ${event.id}` },
  });
  return defineService({
    name: 'welcome',
    // Shared with the audit service: each records its migrations in a table of its own.
    database: { url: options.databaseUrl, migrations, migrationTable: 'welcome_migration' },
    consumers: [queueWelcomeEmail],
  });
}
