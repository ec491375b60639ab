/** POST /users (user and outbox row in one transaction) and the consumer that stores each card. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import type { Handler } from './consumer.js';
import type { ReferenceOutbox } from './outbox.js';
import { readNewUser, send } from '../shared/http.js';
import { cardMessage, type CardMessage } from '../shared/validate.js';

export function createUserRoute(pool: pg.Pool, userQueue: string, outbox: ReferenceOutbox) {
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const user = await readNewUser(request, response);
    if (!user) return;
    const row = { id: randomUUID(), queue: userQueue, body: JSON.stringify(user) };
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO users (id, name, email, created_at) VALUES ($1, $2, $3, $4)', [
        user.id,
        user.name,
        user.email,
        user.created_at,
      ]);
      await outbox.insert(client, row);
      await client.query('COMMIT');
      client.release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      if ((error as { code?: string }).code === '23505')
        return send(response, 409, { error: `email ${user.email} is already taken` });
      throw error;
    }
    void outbox.publish(row);
    send(response, 201, { ...user, card: null });
  };
}

export function storeCardHandler(cardQueue: string): Handler<CardMessage> {
  return {
    queue: cardQueue,
    parse: cardMessage,
    key: (card) => `card:${card.id}`,
    async handle(client, card) {
      await client.query(
        'INSERT INTO cards (id, user_id, number, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
        [card.id, card.user_id, card.number, card.created_at],
      );
      return undefined;
    },
  };
}
