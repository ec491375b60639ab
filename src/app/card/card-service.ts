/**
 * The card service: for each user on the user queue, stores the user, issues exactly one card (a
 * 16-digit Luhn-valid number) and announces it on the card queue, all in the runtime's one transaction.
 */
import { randomUUID } from 'node:crypto';
import { defineConsumer, defineService, type Publisher, type Service } from 'ackstate';
import type { Transaction } from 'kysely';
import type { Config } from '../config.js';
import { userMessageSchema, type CardMessage, type UserMessage } from '../messages.js';
import { issueCard, issueCards, recordUser, recordUsers } from '../queries.js';
import type { CardServiceDatabase } from '../schema.js';
import { newCardNumber } from './card-number.js';
import { cardServiceMigrations } from './migrations.js';

/** The card issued for a user, or none when the user already had one (the delivery was a repeat). */
type Issued = CardMessage | undefined;

function cardFor(user: UserMessage): CardMessage {
  return { id: randomUUID(), user_id: user.id, number: newCardNumber(), created_at: new Date().toISOString() };
}

export function cardService(config: Config): Service {
  const cardQueue = { queue: config.CARD_QUEUE };
  const announce = (out: Publisher, card: CardMessage, issued: boolean): Issued => {
    if (!issued) return undefined;
    out.publish(cardQueue, card);
    return card;
  };

  const issueCardsToUsers = defineConsumer({
    queue: config.USER_QUEUE,
    schema: userMessageSchema,
    key: (user) => `user:${user.id}`,
    publishes: [cardQueue],
    async handle(trx: Transaction<CardServiceDatabase>, user, out): Promise<Issued> {
      await recordUser(trx, user.id, user.name, user.email, user.created_at);
      const card = cardFor(user);
      // One card per user: when the user already has one, this delivery is a repeat and issues nothing.
      const issued = await issueCard(trx, card.id, card.user_id, card.number, card.created_at);
      return announce(out, card, issued.rows.length > 0);
    },
    async handleMany(trx, users, out) {
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
      return cards.map((card) => announce(out, card, issuedIds.has(card.id)));
    },
    describe: {
      received: (user) => `Processing user: ${user.id}`,
      completed: (user, card) =>
        card
          ? `Successfully processed user ${user.id}, created card ${card.id}, and acked message`
          : `User ${user.id} already has its card; acked the repeat`,
    },
  });

  return defineService({
    name: 'card',
    database: {
      url: config.CARD_DB_URL,
      migrations: cardServiceMigrations,
      queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS,
      preparedStatements: config.DB_PREPARED_STATEMENTS,
    },
    consumers: [issueCardsToUsers],
  });
}
