/**
 * The card service: for each user on the user queue, stores the user, issues exactly one card (a
 * 16-digit Luhn-valid number) and announces it on the card queue, all in the runtime's one transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { cardServiceMigrations } from '../db/migrations/card-service.js';
import type { CardServiceDatabase } from '../db/schema.js';
import { issueCard, recordUser } from '../db/service-queries.js';
import type { ServiceSpec } from '../service.js';
import { newCardNumber } from './card-number.js';
import { userMessageSchema, type CardMessage, type UserMessage } from './messages.js';

interface Issued {
  readonly card: CardMessage | undefined;
}

export function cardService(config: Config): ServiceSpec<CardServiceDatabase> {
  return {
    name: 'card',
    databaseUrl: config.CARD_DB_URL,
    migrations: cardServiceMigrations,
    consumer: {
      queue: config.USER_QUEUE,
      schema: userMessageSchema,
      naturalKey: (user: UserMessage) => `user:${user.id}`,
      async handle(trx, user: UserMessage) {
        await recordUser(trx, user.id, user.name, user.email, user.created_at);
        const card: CardMessage = {
          id: randomUUID(),
          user_id: user.id,
          number: newCardNumber(),
          created_at: new Date().toISOString(),
        };
        // One card per user: when the user already has one, this delivery is a repeat and issues nothing.
        const issued = await issueCard(trx, card.id, card.user_id, card.number, card.created_at);
        if (issued.rows.length === 0) return { outgoing: [], result: { card: undefined } satisfies Issued };
        return {
          outgoing: [{ id: randomUUID(), queue: config.CARD_QUEUE, body: JSON.stringify(card) }],
          result: { card } satisfies Issued,
        };
      },
      describe: {
        received: (user: UserMessage) => `Processing user: ${user.id}`,
        completed: (user: UserMessage, result: unknown) => {
          const card = (result as Issued | undefined)?.card;
          return card
            ? `Successfully processed user ${user.id}, created card ${card.id}, and acked message`
            : `User ${user.id} already has its card; acked the repeat`;
        },
      },
    },
  };
}
