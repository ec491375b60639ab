/**
 * The card service: for each user on the user queue, stores the user, issues exactly one card (a
 * 16-digit Luhn-valid number) and announces it on the card queue, all in the runtime's one transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { cardServiceMigrations } from './migrations.js';
import type { CardServiceDatabase } from '../../db/schema.js';
import { issueCard, issueCards, recordUser, recordUsers } from '../queries.js';
import type { ServiceSpec } from '../../service.js';
import { newCardNumber } from './card-number.js';
import { userMessageSchema, type CardMessage, type UserMessage } from '../messages.js';

interface Issued {
  readonly card: CardMessage | undefined;
}

function cardFor(user: UserMessage): CardMessage {
  return { id: randomUUID(), user_id: user.id, number: newCardNumber(), created_at: new Date().toISOString() };
}

export function cardService(config: Config): ServiceSpec<CardServiceDatabase> {
  const resultOf = (card: CardMessage, issued: boolean) =>
    issued
      ? {
          outgoing: [{ id: randomUUID(), queue: config.CARD_QUEUE, body: JSON.stringify(card) }],
          result: { card } satisfies Issued,
        }
      : { outgoing: [], result: { card: undefined } satisfies Issued };

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
        const card = cardFor(user);
        // One card per user: when the user already has one, this delivery is a repeat and issues nothing.
        const issued = await issueCard(trx, card.id, card.user_id, card.number, card.created_at);
        return resultOf(card, issued.rows.length > 0);
      },
      async handleMany(trx, users: readonly UserMessage[]) {
        await recordUsers(
          trx,
          users.map((user) => [user.id, user.name, user.email, user.created_at] as const),
        );
        const cards = users.map(cardFor);
        const issued = await issueCards(
          trx,
          cards.map((card) => [card.id, card.user_id, card.number, card.created_at] as const),
        );
        const issuedIds = new Set(issued.rows.map((row) => row.id));
        return cards.map((card) => resultOf(card, issuedIds.has(card.id)));
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
