/**
 * The user service: creates users over HTTP (the user row and its outgoing message in one transaction)
 * and stores, for each user, the card that arrives on the card queue.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { insertOutbox, messagingTablesOf, type OutgoingMessage } from '../../db/messaging-queries.js';
import { userServiceMigrations } from './migrations.js';
import type { UserServiceDatabase } from '../../db/schema.js';
import { createUsers, storeCard, storeCards } from '../queries.js';
import { GroupCommit } from '../../db/group-commit.js';
import { classifyError } from '../../policies/classify-error.js';
import type { ServiceContext, ServiceSpec } from '../../service.js';
import {
  cardMessageSchema,
  createUserRequestSchema,
  describeIssues,
  type CardMessage,
  type UserMessage,
} from '../messages.js';
import { z } from 'zod';

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const userId = z.uuid();

interface NewUser {
  readonly user: UserMessage;
  readonly outgoing: readonly OutgoingMessage[];
}

function routes(config: Config, leaseMs: number) {
  return (app: FastifyInstance, { db, publishNow }: ServiceContext<UserServiceDatabase>) => {
    // Users created at the same moment share one transaction: true where the user was created, false where
    // its email was already taken.
    const creations = new GroupCommit<NewUser, boolean>(
      (batch) =>
        db.transaction().execute(async (trx) => {
          const inserted = await createUsers(
            trx,
            batch.map(({ user }) => [user.id, user.name, user.email, user.created_at] as const),
          );
          const created = new Set(inserted.rows.map((row) => row.id));
          const outgoing = batch.filter(({ user }) => created.has(user.id)).flatMap((each) => each.outgoing);
          await insertOutbox(messagingTablesOf(trx), outgoing, leaseMs);
          return batch.map(({ user }) => created.has(user.id));
        }),
      // An outage fails every user of the batch alike: no point trying each again alone.
      {
        maxBatch: config.MAX_BATCH,
        concurrency: config.BATCH_CONCURRENCY,
        split: (error) => classifyError(error).kind !== 'unavailable',
      },
    );

    app.post('/users', async (request, reply) => {
      const parsed = createUserRequestSchema.safeParse(request.body);
      if (!parsed.success) throw new HttpError(400, describeIssues(parsed.error));
      const user: UserMessage = {
        id: randomUUID(),
        name: parsed.data.name,
        email: parsed.data.email,
        created_at: new Date().toISOString(),
      };
      const outgoing = [{ id: randomUUID(), queue: config.USER_QUEUE, body: JSON.stringify(user) }];
      if (!(await creations.submit({ user, outgoing })))
        throw new HttpError(409, `email ${user.email} is already taken`);
      publishNow(outgoing);
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

export function userService(config: Config): ServiceSpec<UserServiceDatabase> {
  return {
    name: 'user',
    databaseUrl: config.USER_DB_URL,
    migrations: userServiceMigrations,
    consumer: {
      queue: config.CARD_QUEUE,
      schema: cardMessageSchema,
      naturalKey: (card: CardMessage) => `card:${card.id}`,
      async handle(trx, card: CardMessage) {
        // A repeat of the same card is harmless; a second, different card for the user breaks the
        // unique user_id, which makes the message poison (it is dead-lettered with that reason).
        await storeCard(trx, card.id, card.user_id, card.number, card.created_at);
        return { outgoing: [] };
      },
      async handleMany(trx, cards: readonly CardMessage[]) {
        await storeCards(
          trx,
          cards.map((card) => [card.id, card.user_id, card.number, card.created_at] as const),
        );
        return cards.map(() => ({ outgoing: [] }));
      },
      describe: {
        received: (card: CardMessage) => `Processing card: ${card.id} for user ${card.user_id}`,
        completed: (card: CardMessage) => `Successfully saved and acked card: ${card.id} for user ${card.user_id}`,
      },
    },
    routes: routes(config, config.OUTBOX_LEASE_MS),
  };
}
