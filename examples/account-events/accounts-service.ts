/**
 * The accounts service: POST /accounts stores an account and, in the same transaction, publishes
 * `account.created` to the topic exchange (an outbox row, sent once the transaction has committed).
 */
import { randomUUID } from 'node:crypto';
import { defineService, describeIssues, HttpError, type Exchange, type Service } from 'ackstate';
import type { ColumnType, Kysely, Migration } from 'kysely';
import { sql } from 'kysely';
import { createAccountRequestSchema, type AccountCreated } from './messages.js';

interface AccountsDatabase {
  accounts: { id: string; email: string; created_at: ColumnType<Date, string, never> };
}

const migrations: Record<string, Migration> = {
  '0001_accounts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'uuid', (col) => col.primaryKey())
        .addColumn('email', 'text', (col) => col.notNull())
        .addColumn('created_at', 'timestamptz', (col) => col.notNull())
        .execute();
      // An email is taken whatever its case.
      await sql`CREATE UNIQUE INDEX accounts_email_unique ON accounts (lower(email))`.execute(db);
    },
  },
};

export function accountsService(options: { readonly databaseUrl: string; readonly events: Exchange }): Service {
  const accountCreated = { exchange: options.events, routingKey: 'account.created' };
  return defineService<AccountsDatabase>({
    name: 'accounts',
    database: { url: options.databaseUrl, migrations },
    publishes: [accountCreated],
    routes(app, { transaction }) {
      app.post('/accounts', async (request, reply) => {
        const parsed = createAccountRequestSchema.safeParse(request.body);
        if (!parsed.success) throw new HttpError(400, describeIssues(parsed.error));
        const event: AccountCreated = {
          type: 'account.created',
          id: randomUUID(),
          email: parsed.data.email,
          created_at: new Date().toISOString(),
        };
        const created = await transaction(async (trx, out) => {
          const inserted = await trx
            .insertInto('accounts')
            .values({ id: event.id, email: event.email, created_at: event.created_at })
            .onConflict((conflict) => conflict.doNothing())
            .returning('id')
            .executeTakeFirst();
          // The event commits with the account, or not at all.
          if (inserted) out.publish(accountCreated, event);
          return inserted !== undefined;
        });
        if (!created) throw new HttpError(409, `email ${event.email} is already taken`);
        return reply.code(201).send({ id: event.id, email: event.email, created_at: event.created_at });
      });
    },
  });
}
