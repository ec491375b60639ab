import test from 'ava';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import { defineConsumer, type ConsumerSpec } from '../api/consumer.js';
import { defineExchange } from '../api/destination.js';
import { OptionsError, resolveOptions, type RuntimeOptions } from '../api/options.js';
import { defineService, type Service } from '../api/service.js';
import { defaultConsumerSettings } from '../api/settings.js';
import { planRuntime } from './plan.js';

const url = 'postgres://postgres@127.0.0.1:5432/plan_test';
const events = defineExchange({ name: 'events', type: 'topic' });
const schema = z.object({ id: z.string() });

const consumer = (queue: string, extra: Partial<ConsumerSpec<unknown, { id: string }>> = {}) =>
  defineConsumer({
    queue,
    schema,
    key: (message) => message.id,
    async handle(trx: Transaction<unknown>) {
      await trx.selectNoFrom((eb) => eb.lit(1).as('one')).execute();
    },
    ...extra,
  });

const plan = (services: readonly Service[], extra: Partial<RuntimeOptions> = {}) =>
  planRuntime(resolveOptions({ broker: { urls: 'amqp://127.0.0.1' }, services, ...extra }));

const problemsOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof OptionsError) return error.message;
    throw error;
  }
  return '';
};

test('the topology comes from the definitions: consumed and published queues, exchanges, bindings', (t) => {
  const audit = consumer('audit_log', { bindings: [{ exchange: events, routingKey: '#' }] });
  const orders = consumer('orders', { publishes: [{ exchange: events, routingKey: 'order.placed' }] });
  const result = plan([
    defineService({ name: 'shop', database: { url }, consumers: [orders], publishes: [{ queue: 'mail' }] }),
    defineService({ name: 'audit', database: { url: `${url}_audit` }, consumers: [audit] }),
  ]);
  t.deepEqual([...result.topology.queues].sort(), ['audit_log', 'mail', 'orders']);
  t.deepEqual(result.topology.exchanges, [{ name: 'events', type: 'topic' }]);
  t.deepEqual(result.topology.bindings, [{ queue: 'audit_log', exchange: 'events', routingKey: '#' }]);
});

test('a service with one consumer keeps the short names; several are told apart by name', (t) => {
  const result = plan([
    defineService({ name: 'one', database: { url }, consumers: [consumer('a')] }),
    defineService({
      name: 'two',
      database: { url: `${url}_two` },
      consumers: [consumer('b'), consumer('c', { name: 'third' })],
    }),
  ]);
  t.deepEqual(
    result.consumers.map(({ actorId, check }) => [actorId, check]),
    [
      ['consumer:one', 'one.consumer'],
      ['consumer:two/b', 'two.consumer.b'],
      ['consumer:two/third', 'two.consumer.third'],
    ],
  );
});

test("a consumer's own settings win over the runtime's defaults", (t) => {
  const result = plan([defineService({ name: 's', database: { url }, consumers: [consumer('q', { prefetch: 7 })] })], {
    consumers: { prefetch: 100, maxAttempts: 9 },
  });
  t.like(result.consumers[0]!.settings, { prefetch: 7, maxAttempts: 9, maxBatch: defaultConsumerSettings.maxBatch });
});

test('services naming one URL share a database, named after both', (t) => {
  const result = plan([
    defineService({ name: 'a', database: { url, migrationTable: 'a_migration' }, consumers: [consumer('qa')] }),
    defineService({ name: 'b', database: { url, migrationTable: 'b_migration' }, consumers: [consumer('qb')] }),
  ]);
  t.deepEqual(
    result.databases.map((database) => database.label),
    ['a+b'],
  );
  t.like(result.databases[0], { maxConnections: 10, queryTimeoutMs: 30_000, preparedStatements: true });
});

test('services sharing a database use named prepared statements only if none of them turns them off', (t) => {
  const shared = (off: boolean) =>
    plan([
      defineService({ name: 'a', database: { url, migrationTable: 'a_m' } }),
      defineService({ name: 'b', database: { url, migrationTable: 'b_m', preparedStatements: !off } }),
    ]).databases[0];
  t.like(shared(false), { preparedStatements: true });
  t.like(shared(true), { preparedStatements: false });
});

test('services sharing a database get the largest pool and the longest query timeout of theirs', (t) => {
  const result = plan([
    defineService({ name: 'a', database: { url, migrationTable: 'a_m', maxConnections: 4, queryTimeoutMs: 5_000 } }),
    defineService({ name: 'b', database: { url, migrationTable: 'b_m', maxConnections: 12, queryTimeoutMs: 2_000 } }),
  ]);
  t.like(result.databases[0], { maxConnections: 12, queryTimeoutMs: 5_000 });
});

test('mistakes in the definitions are refused at once, each naming where it is', (t) => {
  const migrations = { '0001': { up: async () => {} } };
  const message = problemsOf(() =>
    plan([
      defineService({
        name: 'a',
        database: { url, migrations },
        consumers: [consumer('same'), consumer('bad queue!')],
      }),
      defineService({
        name: 'b',
        database: { url, migrations },
        consumers: [consumer('same', { maxAttempts: 0 })],
        publishes: [{ exchange: defineExchange({ name: 'events', type: 'fanout' }) }, { exchange: events }],
      }),
    ]),
  );
  t.regex(message, /^invalid options: /);
  t.regex(message, /services\.a\.consumers\.bad queue!: queue "bad queue!" may hold only letters/);
  t.regex(message, /services\.b\.consumers\.same: queue same is already consumed by services\.a\.consumers\.same/);
  t.regex(message, /services\.b\.consumers\.same\.maxAttempts: /);
  t.regex(message, /exchange events is defined both as fanout and as topic/);
  t.regex(message, /b and a share a database and would both record their migrations in kysely_migration/);
});

test('bad options name the option', (t) => {
  const service = defineService({ name: 's', database: { url }, consumers: [consumer('q')] });
  t.regex(
    problemsOf(() => resolveOptions({ broker: { urls: 'http://nope' }, services: [service] })),
    /broker\.urls: /,
  );
  t.regex(
    problemsOf(() => resolveOptions({ broker: { urls: 'amqp://h' }, services: [service], consumers: { prefetch: 0 } })),
    /consumers\.prefetch: /,
  );
  t.regex(
    problemsOf(() => resolveOptions({ broker: { urls: 'amqp://h' }, services: [service], http: { prot: 1 } as never })),
    /http: .*prot/,
  );
  t.regex(
    problemsOf(() => resolveOptions({ broker: { urls: 'amqp://h', heartbeatSeconds: 0 }, services: [service] })),
    /broker\.heartbeatSeconds: /,
  );
  t.is(resolveOptions({ broker: { urls: 'amqp://h' }, services: [service] }).broker.heartbeatSeconds, 5);
  t.regex(
    problemsOf(() => plan([service, service])),
    /two services are named s/,
  );
  t.regex(
    problemsOf(() => plan([service], { broker: { urls: 'amqp://h', queueType: 'quorum', deliveryLimit: 5 } })),
    /broker\.deliveryLimit \(5\) must be greater than maxAttempts \(5\)/,
  );
  t.regex(
    problemsOf(() => plan([defineService({ name: 'x', database: { url, queryTimeoutMs: 50 } })])),
    /services\.x\.database\.queryTimeoutMs: must be a whole number of ms, 100 – 3,600,000/,
  );
  t.regex(
    problemsOf(() =>
      plan([defineService({ name: 'x', database: { url, preparedStatements: 'no' as unknown as boolean } })]),
    ),
    /services\.x\.database\.preparedStatements: must be true or false/,
  );
  t.regex(
    problemsOf(() => plan([defineService({ name: 'x', database: { url: 'mysql://h/db' } })])),
    /services\.x\.database\.url: must be a postgres/,
  );
});

test('outbox.maxPollMs defaults to 5 s, or pollMs when that is longer; below pollMs it is refused', (t) => {
  const service = defineService({ name: 's', database: { url }, consumers: [consumer('q')] });
  const outboxOf = (outbox: RuntimeOptions['outbox']) =>
    resolveOptions({ broker: { urls: 'amqp://h' }, services: [service], ...(outbox && { outbox }) }).outbox;
  t.deepEqual(outboxOf(undefined), { leaseMs: 15_000, pollMs: 1_000, maxPollMs: 5_000 });
  t.like(outboxOf({ pollMs: 200 }), { pollMs: 200, maxPollMs: 5_000 });
  t.like(outboxOf({ pollMs: 10_000 }), { pollMs: 10_000, maxPollMs: 10_000 }, 'a long pollMs is never shortened');
  t.like(outboxOf({ pollMs: 500, maxPollMs: 500 }), { pollMs: 500, maxPollMs: 500 }, 'constant polling');
  t.like(outboxOf({ maxPollMs: 60_000 }), { pollMs: 1_000, maxPollMs: 60_000 });
  t.regex(
    problemsOf(() => outboxOf({ pollMs: 2_000, maxPollMs: 1_000 })),
    /outbox\.pollMs must not exceed outbox\.maxPollMs/,
  );
  t.regex(
    problemsOf(() => outboxOf({ maxPollMs: 10 })),
    /outbox\.maxPollMs: /,
  );
});

test('each consumer that retries through the broker gets one delay queue per distinct delay', (t) => {
  const result = plan([
    defineService({
      name: 'shop',
      database: { url },
      consumers: [
        consumer('orders', { delayedRetriesMs: [5_000, 30_000, 30_000], maxAttempts: 8 }),
        // Every failed attempt but the last is an immediate retry: no delay queue.
        consumer('refunds', { immediateRetries: 4, maxAttempts: 5 }),
        consumer('mail', { delayedRetriesMs: [] }),
      ],
    }),
  ]);
  t.deepEqual(result.topology.delayQueues, [
    { name: 'orders.retry.5s', queue: 'orders', ttlMs: 5_000 },
    { name: 'orders.retry.30s', queue: 'orders', ttlMs: 30_000 },
  ]);
  t.deepEqual(
    plan([defineService({ name: 'one', database: { url }, consumers: [consumer('a')] })]).topology.delayQueues,
    [{ name: 'a.retry.10s', queue: 'a', ttlMs: 10_000 }],
    'by default: maxAttempts 5 and 3 immediate retries leave one delayed retry, at the first level',
  );
});

test('delays that are not whole seconds, or too many, are refused naming the setting', (t) => {
  const problems = problemsOf(() =>
    plan([
      defineService({
        name: 'shop',
        database: { url },
        consumers: [consumer('orders', { delayedRetriesMs: [1_500] })],
      }),
    ]),
  );
  t.regex(problems, /services\.shop\.consumers\.orders\.delayedRetriesMs\.0: must be a whole number of seconds/);
  t.regex(
    problemsOf(() => plan([], { consumers: { delayedRetriesMs: Array.from({ length: 21 }, () => 1_000) } })),
    /consumers\.delayedRetriesMs/,
  );
});
