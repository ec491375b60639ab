// The public API's types, checked by the compiler (`npm run typecheck` covers test/): a consumer's message type
// flows from its schema into `key`, `handle`, `handleMany` and `describe`, and misuse does not compile. Each
// `@ts-expect-error` fails the typecheck if the error it expects ever goes away.
import test from 'ava';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { defineConsumer, defineExchange, defineService, type Destination, type RuntimeOptions } from 'ackstate';

interface Tables {
  cards: { id: string; user_id: string };
}

const user = z.object({ id: z.uuid(), name: z.string() });

const issueCards = defineConsumer({
  queue: 'user_queue',
  schema: user,
  key: (message) => `user:${message.id}`,
  async handle(trx: Transaction<Tables>, message, out, delivery) {
    const name: string = message.name;
    const routingKey: string = delivery.routingKey;
    await trx.insertInto('cards').values({ id: name, user_id: message.id }).execute();
    // @ts-expect-error the table has no such column
    await trx.insertInto('cards').values({ id: name, owner: message.id }).execute();
    out.publish({ queue: 'card_queue' }, { user: message.id, routingKey });
    return { card: message.id };
  },
  async handleMany(trx, messages, out) {
    await trx
      .insertInto('cards')
      .values(messages.map((each) => ({ id: each.name, user_id: each.id })))
      .execute();
    return messages.map((each) => {
      out.publish({ queue: 'card_queue' }, each);
      return { card: each.id };
    });
  },
  describe: {
    received: (message) => `user ${message.name}`,
    completed: (message, result) => `user ${message.id} got card ${result.card}`,
  },
});

defineConsumer({
  queue: 'q',
  schema: user,
  // @ts-expect-error the message has no such field
  key: (message) => message.email,
  async handle() {},
});

defineConsumer({
  queue: 'q',
  schema: user,
  key: (message) => message.id,
  async handle() {
    return 1;
  },
  // @ts-expect-error the result is a number, not a card
  describe: { completed: (_message, result) => result.card },
});

const events = defineExchange({ name: 'events', type: 'topic' });
// @ts-expect-error headers exchanges are not supported
defineExchange({ name: 'h', type: 'headers' });
const destinations: Destination[] = [{ queue: 'q' }, { exchange: events, routingKey: 'a.b' }];
// @ts-expect-error a destination names a queue or an exchange definition, not an exchange's name
const wrong: Destination = { exchange: 'events' };

const service = defineService({ name: 'card', database: { url: 'postgres://h/db' }, consumers: [issueCards] });
defineService<{ users: { id: string } }>({
  name: 'other',
  database: { url: 'postgres://h/db' },
  // @ts-expect-error a consumer written for other tables does not fit this service's database
  consumers: [issueCards],
});

const options: RuntimeOptions = {
  broker: { urls: ['amqp://127.0.0.1'] },
  services: [service],
  consumers: { prefetch: 10, retry: { baseMs: 100 } },
};
// @ts-expect-error an unknown option is a compile error, not a silent default
const typo: RuntimeOptions = { broker: { urls: 'amqp://h' }, services: [], prefetch: 10 };

test('the definitions keep what they were given', (t) => {
  t.is(issueCards.queue, 'user_queue');
  t.is(issueCards.name, 'user_queue');
  t.deepEqual(destinations.length, 2);
  t.is(service.consumers.length, 1);
  t.like(options.consumers, { prefetch: 10 });
  t.truthy(wrong);
  t.truthy(typo);
});
