/**
 * The user service: creates users over HTTP (the user row and its outgoing message in one transaction)
 * and stores, for each user, the card that arrives on the card queue.
 */
import { randomUUID } from 'node:crypto';
import { defineConsumer, defineService, describeIssues, HttpError, type Service, type ServiceContext } from 'ackstate';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { Config } from '../config.js';
import { cardMessageSchema, createUserRequestSchema, type UserMessage } from '../messages.js';
import { createUsers, storeCard, storeCards } from '../queries.js';
import type { UserServiceDatabase } from '../schema.js';
import { userServiceMigrations } from './migrations.js';

const userId = z.uuid();

function routes(config: Config) {
  const userQueue = { queue: config.USER_QUEUE };
  return (app: FastifyInstance, { db, batch }: ServiceContext<UserServiceDatabase>) => {
    // Users created at the same moment share one transaction: true where the user was created, false where
    // its email was already taken (then nothing is published for it).
    const createUser = batch(async (trx, users: readonly UserMessage[], out) => {
      const inserted = await createUsers(
        trx,
        users.map((user) => [user.id, user.name, user.email, user.created_at] as const),
      );
      const created = new Set(inserted.rows.map((row) => row.id));
      for (const user of users) if (created.has(user.id)) out.publish(userQueue, user);
      return users.map((user) => created.has(user.id));
    });

    app.post('/users', async (request, reply: FastifyReply) => {
      const parsed = createUserRequestSchema.safeParse(request.body);
      if (!parsed.success) throw new HttpError(400, describeIssues(parsed.error));
      const user: UserMessage = {
        id: randomUUID(),
        name: parsed.data.name,
        email: parsed.data.email,
        created_at: new Date().toISOString(),
      };
      if (!(await createUser(user))) throw new HttpError(409, `email ${user.email} is already taken`);
      return reply.code(201).send({ ...user, card: null });
    });

    app.get<{ Params: { id: string } }>('/users/:id', async (request) => {
      if (!userId.safeParse(request.params.id).success) throw new HttpError(400, 'id must be a UUID');
      const row = await db
        .selectFrom('users')
        .leftJoin('cards', 'cards.user_id', 'users.id')
        .select([
          'users.id',
          'users.name',
          'users.email',
          'users.created_at',
          'cards.id as card_id',
          'cards.number as card_number',
          'cards.created_at as card_created_at',
        ])
        .where('users.id', '=', request.params.id)
        .executeTakeFirst();
      if (!row) throw new HttpError(404, `no user with id ${request.params.id}`);
      return {
        id: row.id,
        name: row.name,
        email: row.email,
        created_at: row.created_at.toISOString(),
        card:
          row.card_id && row.card_number && row.card_created_at
            ? { id: row.card_id, number: row.card_number, created_at: row.card_created_at.toISOString() }
            : null,
      };
    });
  };
}

export function userService(config: Config): Service {
  const storeIssuedCards = defineConsumer({
    queue: config.CARD_QUEUE,
    schema: cardMessageSchema,
    key: (card) => `card:${card.id}`,
    async handle(trx: Transaction<UserServiceDatabase>, card) {
      // A repeat of the same card is harmless; a second, different card for the user breaks the
      // unique user_id, which makes the message poison (it is dead-lettered with that reason).
      await storeCard(trx, card.id, card.user_id, card.number, card.created_at);
    },
    async handleMany(trx, cards) {
      await storeCards(
        trx,
        cards.map((card) => [card.id, card.user_id, card.number, card.created_at] as const),
      );
      return cards.map(() => undefined);
    },
    describe: {
      received: (card) => `Processing card: ${card.id} for user ${card.user_id}`,
      completed: (card) => `Successfully saved and acked card: ${card.id} for user ${card.user_id}`,
    },
  });

  return defineService({
    name: 'user',
    database: {
      url: config.USER_DB_URL,
      migrations: userServiceMigrations,
      queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
      preparedStatements: config.DB_PREPARED_STATEMENTS,
    },
    consumers: [storeIssuedCards],
    publishes: [{ queue: config.USER_QUEUE }],
    routes: routes(config),
  });
}
