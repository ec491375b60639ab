/** For each batch of new user messages: the users, one card each and the cards' outbox rows, multi-row. */
import { randomUUID } from 'node:crypto';
import { cardNumber } from '../shared/card-number.js';
import { userMessage, type CardMessage, type UserMessage } from '../shared/validate.js';
import type { BatchHandler } from './batch-consumer.js';
import type { OutboxRow } from '../shared/outbox-rows.js';
import type { BatchOutbox } from './outbox.js';

export function issueCardsHandler(
  userQueue: string,
  cardQueue: string,
  outbox: BatchOutbox,
): BatchHandler<UserMessage> {
  return {
    queue: userQueue,
    parse: userMessage,
    key: (user) => `user:${user.id}`,
    async handleMany(client, users) {
      await client.query(
        `INSERT INTO users (id, name, email, created_at)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT (id) DO NOTHING`,
        [
          users.map((user) => user.id),
          users.map((user) => user.name),
          users.map((user) => user.email),
          users.map((user) => user.created_at),
        ],
      );
      const now = new Date().toISOString();
      const cards: CardMessage[] = users.map((user) => ({
        id: randomUUID(),
        user_id: user.id,
        number: cardNumber(),
        created_at: now,
      }));
      const issued = await client.query<{ id: string }>(
        `INSERT INTO cards (id, user_id, number, created_at)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) ON CONFLICT (user_id) DO NOTHING RETURNING id`,
        [
          cards.map((card) => card.id),
          cards.map((card) => card.user_id),
          cards.map((card) => card.number),
          cards.map((card) => card.created_at),
        ],
      );
      const issuedIds = new Set(issued.rows.map((row) => row.id));
      const rows: OutboxRow[] = cards
        .filter((card) => issuedIds.has(card.id))
        .map((card) => ({ id: randomUUID(), queue: cardQueue, body: JSON.stringify(card) }));
      await outbox.insertMany(client, rows);
      return () => outbox.publishMany(rows);
    },
  };
}
