/** For each user message: inbox, user, one card and its outbox row in one transaction; then ack, publish. */
import { randomUUID } from 'node:crypto';
import type { Handler } from './consumer.js';
import type { ReferenceOutbox } from './outbox.js';
import { cardNumber } from '../shared/card-number.js';
import { userMessage, type CardMessage, type UserMessage } from '../shared/validate.js';

export function cardHandler(userQueue: string, cardQueue: string, outbox: ReferenceOutbox): Handler<UserMessage> {
  return {
    queue: userQueue,
    parse: userMessage,
    key: (user) => `user:${user.id}`,
    async handle(client, user) {
      await client.query(
        'INSERT INTO users (id, name, email, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
        [user.id, user.name, user.email, user.created_at],
      );
      const card: CardMessage = {
        id: randomUUID(),
        user_id: user.id,
        number: cardNumber(),
        created_at: new Date().toISOString(),
      };
      const issued = await client.query(
        'INSERT INTO cards (id, user_id, number, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING RETURNING id',
        [card.id, card.user_id, card.number, card.created_at],
      );
      if (issued.rowCount !== 1) return undefined;
      const row = { id: randomUUID(), queue: cardQueue, body: JSON.stringify(card) };
      await outbox.insert(client, row);
      return () => outbox.publish(row);
    },
  };
}
