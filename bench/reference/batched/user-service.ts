/**
 * POST /users with group commit (the users that arrive together and their outbox rows in one transaction,
 * each request answered 201 or, when its email is taken, 409), and the consumer that stores cards in batches.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { readNewUser, send } from '../shared/http.js';
import { cardMessage, type CardMessage, type UserMessage } from '../shared/validate.js';
import type { BatchHandler } from './batch-consumer.js';
import { GroupCommit } from './group-commit.js';
import type { OutboxRow } from '../shared/outbox-rows.js';
import type { BatchOutbox } from './outbox.js';
import { inTransaction } from './transaction.js';

interface Creation {
  readonly user: UserMessage;
  readonly row: OutboxRow;
}

/** One transaction for the users: those whose email was free get their outbox row; true for them. */
function createUsers(pool: pg.Pool, outbox: BatchOutbox) {
  return async (creations: readonly Creation[]): Promise<readonly boolean[]> => {
    const created = await inTransaction(pool, async (client) => {
      const users = creations.map((creation) => creation.user);
      // DO NOTHING covers both unique indexes; an email taken by an earlier row of the same batch is skipped too.
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO users (id, name, email, created_at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING RETURNING id`,
        [
          users.map((user) => user.id),
          users.map((user) => user.name),
          users.map((user) => user.email),
          users.map((user) => user.created_at),
        ],
      );
      const ids = new Set(rows.map((row) => row.id));
      await outbox.insertMany(
        client,
        creations.filter((creation) => ids.has(creation.user.id)).map((creation) => creation.row),
      );
      return ids;
    });
    void outbox.publishMany(
      creations.filter((creation) => created.has(creation.user.id)).map((creation) => creation.row),
    );
    return creations.map((creation) => created.has(creation.user.id));
  };
}

export function createUserRoute(
  pool: pg.Pool,
  userQueue: string,
  outbox: BatchOutbox,
  settings: { maxBatch: number; concurrency: number },
) {
  const group = new GroupCommit(createUsers(pool, outbox), settings.maxBatch, settings.concurrency);
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const user = await readNewUser(request, response);
    if (!user) return;
    const created = await group.submit({
      user,
      row: { id: randomUUID(), queue: userQueue, body: JSON.stringify(user) },
    });
    if (!created) return send(response, 409, { error: `email ${user.email} is already taken` });
    send(response, 201, { ...user, card: null });
  };
}

export function storeCardsHandler(cardQueue: string): BatchHandler<CardMessage> {
  return {
    queue: cardQueue,
    parse: cardMessage,
    key: (card) => `card:${card.id}`,
    async handleMany(client, cards) {
      await client.query(
        `INSERT INTO cards (id, user_id, number, created_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) ON CONFLICT (id) DO NOTHING`,
        [
          cards.map((card) => card.id),
          cards.map((card) => card.user_id),
          cards.map((card) => card.number),
          cards.map((card) => card.created_at),
        ],
      );
      return undefined;
    },
  };
}
