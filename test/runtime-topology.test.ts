/**
 * The broker topology a runtime declares from its definitions, checked in-process against the real broker
 * and database through the public entry only: fanout and direct exchanges with their bindings, several
 * consumers in one service (and their readiness checks), a consumer's own settings over the runtime's,
 * a publish to an undeclared destination, and start-up refused before anything connects.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  createLogger,
  deadLetterHeader,
  defineConsumer,
  defineExchange,
  defineService,
  OptionsError,
  startRuntime,
  UndeclaredDestinationError,
  type Binding,
  type DeliveryInfo,
  type RuntimeOptions,
} from 'ackstate';
import amqplib from 'amqplib';
import test from 'ava';
import type { Kysely, Migration, Transaction } from 'kysely';
import { z } from 'zod';
import { peekQueue, publishToExchange, queueCounts } from './support/broker.js';
import { amqpUrl, postgresServer, query } from './support/environment.js';
import { scrape, sumIn } from './support/metrics-text.js';
import { deleteCreated, startTestRuntime, type Created } from './support/runtime.js';
import { waitUntil } from './support/wait.js';

/** A fresh prefix of broker and database names: `t_topo_<32 hex digits>`. */
const uniquePrefix = () => `t_topo_${randomUUID().replaceAll('-', '')}`;
const databaseUrlOf = (prefix: string) => `${postgresServer}/ackstate_${prefix}`;

/** Whether a queue exists: `checkQueue` answers 404 (and closes its channel) when it does not. */
async function queueExists(queue: string): Promise<boolean> {
  const connection = await amqplib.connect(amqpUrl);
  connection.on('error', () => {});
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      await channel.checkQueue(queue);
      await channel.close();
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return false;
      throw error;
    }
  } finally {
    await connection.close();
  }
}

const deliveries = async (baseUrl: string, queue: string, outcome: string) =>
  sumIn(await scrape(`${baseUrl}/metrics`), 'ackstate_deliveries_total', { queue, outcome });

/** The tables of these tests: one row per handled message, saying which consumer handled it and how it came. */
interface HitsDatabase {
  hits: { consumer: string; id: string; via: string; exchange: string; routing_key: string };
}

const hitsMigrations: Record<string, Migration> = {
  '0001_hits': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('hits')
        .addColumn('consumer', 'text', (col) => col.notNull())
        .addColumn('id', 'text', (col) => col.notNull())
        .addColumn('via', 'text', (col) => col.notNull())
        .addColumn('exchange', 'text', (col) => col.notNull())
        .addColumn('routing_key', 'text', (col) => col.notNull())
        .execute();
    },
  },
};

const ping = z.strictObject({ id: z.uuid(), via: z.string() });
type Ping = z.infer<typeof ping>;

interface Hit {
  consumer: string;
  id: string;
  via: string;
  exchange: string;
  routing_key: string;
}
const hitsOf = (url: string) =>
  query<Hit>(url, 'SELECT consumer, id, via, exchange, routing_key FROM hits ORDER BY consumer, via');

test('fanout and direct exchanges: one publish reaches both fanout queues and only the matching direct binding', async (t) => {
  const prefix = uniquePrefix();
  const names = {
    source: `${prefix}_source`,
    left: `${prefix}_left`,
    right: `${prefix}_right`,
    blue: `${prefix}_blue`,
    green: `${prefix}_green`,
    fanout: `${prefix}_fanout`,
    direct: `${prefix}_direct`,
  };
  const databaseUrl = databaseUrlOf(prefix);
  const created: Created = {
    queues: [names.source, names.left, names.right, names.blue, names.green],
    exchanges: [names.fanout, names.direct],
    databases: [databaseUrl],
  };
  const fanout = defineExchange({ name: names.fanout, type: 'fanout' });
  const direct = defineExchange({ name: names.direct, type: 'direct' });

  const record =
    (consumer: string) => async (trx: Transaction<HitsDatabase>, message: Ping, delivery: DeliveryInfo) => {
      await trx
        .insertInto('hits')
        .values({ consumer, ...message, exchange: delivery.exchange, routing_key: delivery.routingKey })
        .execute();
    };

  const source = defineConsumer({
    queue: names.source,
    name: 'source',
    schema: ping,
    key: (message) => `${message.via}:${message.id}`,
    publishes: [{ exchange: fanout }, { exchange: direct, routingKey: 'blue' }],
    async handle(trx: Transaction<HitsDatabase>, message, out, delivery) {
      await record('source')(trx, message, delivery);
      out.publish({ exchange: fanout }, { id: message.id, via: 'fanout' });
      out.publish({ exchange: direct, routingKey: 'blue' }, { id: message.id, via: 'direct' });
    },
  });
  const subscriber = (name: string, queue: string, bindings: Binding[]) =>
    defineConsumer({
      queue,
      name,
      schema: ping,
      key: (message) => `${message.via}:${message.id}`,
      bindings,
      handle: (trx: Transaction<HitsDatabase>, message, _out, delivery) => record(name)(trx, message, delivery),
    });
  const producerService = defineService({
    name: 'producer',
    database: { url: databaseUrl, migrations: hitsMigrations },
    consumers: [source],
  });
  const subscriberService = defineService({
    name: 'subscriber',
    // The same database (one pool, one outbox): the producer's migration creates the hits table.
    database: { url: databaseUrl },
    consumers: [
      subscriber('left', names.left, [{ exchange: fanout }]),
      subscriber('right', names.right, [{ exchange: fanout }]),
      subscriber('blue', names.blue, [{ exchange: direct, routingKey: 'blue' }]),
    ],
  });
  const { runtime, baseUrl, stop } = await startTestRuntime(t, created, {
    broker: { urls: amqpUrl },
    services: [producerService, subscriberService],
  });

  // A single consumer's check is `<service>.consumer`; a service with several has one check per consumer.
  const readiness = await waitUntil(
    async () => {
      const answer = await runtime.readiness();
      return answer.ready && answer;
    },
    { what: async () => `readiness (have ${JSON.stringify(await runtime.readiness())})` },
  );
  t.like(readiness.checks, {
    'producer.consumer': 'consuming',
    'subscriber.consumer.left': 'consuming',
    'subscriber.consumer.right': 'consuming',
    'subscriber.consumer.blue': 'consuming',
  });
  t.deepEqual(
    Object.keys(readiness.checks)
      .filter((check) => check.includes('.consumer'))
      .sort(),
    ['producer.consumer', 'subscriber.consumer.blue', 'subscriber.consumer.left', 'subscriber.consumer.right'],
    'one check per consumer, no per-name check for the single consumer of producer',
  );

  // A queue of our own bound to the direct exchange with another key: it must receive nothing.
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue(names.green, { durable: true });
    await channel.bindQueue(names.green, names.direct, 'green');
    await channel.close();
  } finally {
    await connection.close();
  }

  const id = randomUUID();
  await publishToExchange('', names.source, JSON.stringify({ id, via: 'outside' }));
  const expected: Hit[] = [
    { consumer: 'blue', id, via: 'direct', exchange: names.direct, routing_key: 'blue' },
    { consumer: 'left', id, via: 'fanout', exchange: names.fanout, routing_key: '' },
    { consumer: 'right', id, via: 'fanout', exchange: names.fanout, routing_key: '' },
    { consumer: 'source', id, via: 'outside', exchange: '', routing_key: names.source },
  ];
  await waitUntil(async () => (await hitsOf(databaseUrl)).length >= expected.length, {
    what: async () => `a hit from each consumer (have ${JSON.stringify(await hitsOf(databaseUrl))})`,
  });
  // Acked after the commit: wait for every delivery to have ended before counting.
  for (const queue of [names.source, names.left, names.right, names.blue]) {
    await waitUntil(async () => (await deliveries(baseUrl, queue, 'acked')) >= 1, { what: `the ack on ${queue}` });
  }
  t.deepEqual(await hitsOf(databaseUrl), expected, 'each consumer ran once, on the message its binding routes');
  for (const queue of [names.source, names.left, names.right, names.blue]) {
    t.is(await deliveries(baseUrl, queue, 'acked'), 1, `${queue}: one delivery acked`);
    t.is(await deliveries(baseUrl, queue, 'duplicate'), 0, `${queue}: no second delivery`);
  }
  t.is((await queueCounts(names.green)).messages, 0, 'the queue bound with green received nothing');

  // The green queue's binding works: a message routed with green reaches it (and no consumer).
  await publishToExchange(names.direct, 'green', JSON.stringify({ id: randomUUID(), via: 'green' }));
  await waitUntil(async () => (await queueCounts(names.green)).messages === 1, { what: 'the green message' });

  await stop();
  for (const queue of [names.source, names.left, names.right, names.blue]) {
    t.is((await queueCounts(queue)).messages, 0, `${queue} is empty`);
    t.is((await queueCounts(`${queue}.dead`)).messages, 0, `${queue}.dead is empty`);
  }
  t.is((await hitsOf(databaseUrl)).length, expected.length, 'no more hits after the green message');
});

test("a consumer's own maxAttempts wins over the runtime's; the runtime's applies to the others", async (t) => {
  const prefix = uniquePrefix();
  const own = `${prefix}_own`;
  const defaulted = `${prefix}_defaulted`;
  const databaseUrl = databaseUrlOf(prefix);
  const created: Created = { queues: [own, defaulted], exchanges: [], databases: [databaseUrl] };
  const calls = { own: 0, defaulted: 0 };
  const failing = (name: 'own' | 'defaulted', queue: string, maxAttempts?: number) =>
    defineConsumer({
      queue,
      name,
      schema: ping,
      key: (message) => `ping:${message.id}`,
      ...(maxAttempts !== undefined && { maxAttempts }),
      async handle() {
        calls[name] += 1;
        throw new Error('boom');
      },
    });
  const service = defineService({
    name: 'failing',
    database: { url: databaseUrl },
    consumers: [failing('own', own, 2), failing('defaulted', defaulted)],
  });
  const { baseUrl, stop } = await startTestRuntime(t, created, {
    broker: { urls: amqpUrl },
    services: [service],
    consumers: { maxAttempts: 5, retry: { baseMs: 10, maxMs: 20 } },
  });

  const ids = { own: randomUUID(), defaulted: randomUUID() };
  await publishToExchange('', own, JSON.stringify({ id: ids.own, via: 'outside' }));
  await publishToExchange('', defaulted, JSON.stringify({ id: ids.defaulted, via: 'outside' }));
  for (const queue of [own, defaulted]) {
    await waitUntil(async () => (await queueCounts(`${queue}.dead`)).messages === 1, {
      what: async () => `the dead letter in ${queue}.dead (handler calls so far: ${JSON.stringify(calls)})`,
    });
    await waitUntil(async () => (await deliveries(baseUrl, queue, 'dead-lettered')) === 1, {
      what: `the dead-lettered delivery of ${queue} to end`,
    });
  }
  t.deepEqual(calls, { own: 2, defaulted: 5 }, 'one handler call per attempt');

  for (const [name, queue, attempts] of [
    ['own', own, 2],
    ['defaulted', defaulted, 5],
  ] as const) {
    const [deadLetter, ...more] = await peekQueue(`${queue}.dead`);
    t.is(more.length, 0);
    t.deepEqual(JSON.parse(deadLetter!.content.toString()), { id: ids[name], via: 'outside' });
    const headers = deadLetter!.properties.headers ?? {};
    t.is(headers[deadLetterHeader.attempts], attempts, `${name}: dead-lettered after ${attempts} attempts`);
    t.regex(String(headers[deadLetterHeader.reason]), /boom/);
    t.is(headers[deadLetterHeader.kind], 'transient');
    t.is(headers[deadLetterHeader.queue], queue);
    t.is(headers[deadLetterHeader.service], 'failing');
    t.is(headers[deadLetterHeader.consumer], name);
  }

  await stop();
  for (const queue of [own, defaulted]) t.is((await queueCounts(queue)).messages, 0, `${queue} is empty`);
  t.deepEqual(calls, { own: 2, defaulted: 5 }, 'no attempt after the dead letter');
});

test('a publish to an undeclared queue fails the delivery, sends nothing and dead-letters the message', async (t) => {
  const prefix = uniquePrefix();
  const queue = `${prefix}_publisher`;
  const nowhere = `${prefix}_nowhere`;
  const databaseUrl = databaseUrlOf(prefix);
  // `nowhere` is listed too, in case the library declared it after all.
  const created: Created = { queues: [queue, nowhere], exchanges: [], databases: [databaseUrl] };
  const errors: unknown[] = [];
  const consumer = defineConsumer({
    queue,
    name: 'publisher',
    schema: ping,
    key: (message) => `ping:${message.id}`,
    maxAttempts: 2,
    async handle(trx: Transaction<HitsDatabase>, message, out, delivery) {
      await trx
        .insertInto('hits')
        .values({ consumer: 'publisher', ...message, exchange: delivery.exchange, routing_key: delivery.routingKey })
        .execute();
      try {
        out.publish({ queue: nowhere }, message);
      } catch (error) {
        errors.push(error);
        throw error;
      }
    },
  });
  const service = defineService({
    name: 'publisher',
    database: { url: databaseUrl, migrations: hitsMigrations },
    consumers: [consumer],
  });
  const { baseUrl, stop } = await startTestRuntime(t, created, {
    broker: { urls: amqpUrl },
    services: [service],
    consumers: { retry: { baseMs: 10, maxMs: 20 } },
  });
  t.false(await queueExists(nowhere), 'the runtime did not declare the undeclared queue');

  const id = randomUUID();
  await publishToExchange('', queue, JSON.stringify({ id, via: 'outside' }));
  await waitUntil(async () => (await queueCounts(`${queue}.dead`)).messages === 1, {
    what: async () => `the dead letter in ${queue}.dead (errors so far: ${errors.map(String).join('; ')})`,
  });
  await waitUntil(async () => (await deliveries(baseUrl, queue, 'dead-lettered')) === 1, {
    what: 'the dead-lettered delivery to end',
  });

  t.is(errors.length, 2, 'out.publish threw on each of the two attempts');
  for (const error of errors) {
    t.true(error instanceof UndeclaredDestinationError, `an UndeclaredDestinationError, not ${String(error)}`);
    t.is((error as Error).name, 'UndeclaredDestinationError');
    t.true((error as Error).message.includes(nowhere), `the message names the queue: ${(error as Error).message}`);
  }
  const [deadLetter, ...more] = await peekQueue(`${queue}.dead`);
  t.is(more.length, 0);
  t.deepEqual(JSON.parse(deadLetter!.content.toString()), { id, via: 'outside' });
  const headers = deadLetter!.properties.headers ?? {};
  t.regex(String(headers[deadLetterHeader.reason]), /is not declared/);
  t.true(String(headers[deadLetterHeader.reason]).includes(nowhere), 'the reason names the queue');
  t.is(headers[deadLetterHeader.attempts], 2);

  t.deepEqual(await hitsOf(databaseUrl), [], "the failed transaction's effect was rolled back");
  t.deepEqual(await query(databaseUrl, 'SELECT id FROM outbox'), [], 'no outbox row');
  await stop();
  t.false(await queueExists(nowhere), 'nothing published there, nothing declared there');
  t.is((await queueCounts(queue)).messages, 0, `${queue} is empty`);
});

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether the port can be listened on (nothing was left listening there). */
async function canListen(port: number): Promise<boolean> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  } catch {
    return false;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return true;
}

const databaseExists = async (url: string) =>
  (
    await query(`${postgresServer}/postgres`, 'SELECT 1 FROM pg_database WHERE datname = $1', [
      new URL(url).pathname.slice(1),
    ])
  ).length > 0;

test('start-up is refused with an OptionsError naming the problem, before anything connects', async (t) => {
  const prefix = uniquePrefix();
  const shared = `${prefix}_shared`;
  const alone = `${prefix}_alone`;
  const urls = { a: databaseUrlOf(`${prefix}_a`), b: databaseUrlOf(`${prefix}_b`) };
  const created: Created = { queues: [shared, alone], exchanges: [], databases: [urls.a, urls.b] };
  t.teardown(() => deleteCreated(created));

  const reader = (name: string, queue: string, settings: { prefetch?: number } = {}) =>
    defineConsumer({
      queue,
      name,
      schema: ping,
      key: (message) => `ping:${message.id}`,
      ...settings,
      async handle() {},
    });
  const refused = async (what: string, options: Omit<RuntimeOptions, 'http' | 'logger'>) => {
    const port = await freePort();
    const began = Date.now();
    const attempt = startRuntime({ ...options, http: { port }, logger: createLogger('error') });
    // Should it start after all, it is stopped again.
    t.teardown(async () => (await attempt.catch(() => undefined))?.stop());
    const error = await t.throwsAsync(attempt, { instanceOf: OptionsError }, what);
    const elapsed = Date.now() - began;
    t.true(elapsed < 2_000, `${what}: rejected in ${elapsed} ms`);
    t.true(await canListen(port), `${what}: nothing left listening on the HTTP port`);
    return error?.message ?? '';
  };
  const checkNothingCreated = async () => {
    for (const queue of [shared, alone]) t.false(await queueExists(queue), `${queue} was not declared`);
    for (const url of [urls.a, urls.b]) t.false(await databaseExists(url), `${url} was not created`);
  };

  const twice = await refused('two services consuming one queue', {
    broker: { urls: amqpUrl },
    services: [
      defineService({ name: 'first', database: { url: urls.a }, consumers: [reader('reader_a', shared)] }),
      defineService({ name: 'second', database: { url: urls.b }, consumers: [reader('reader_b', shared)] }),
    ],
  });
  t.true(twice.includes('services.first.consumers.reader_a'), twice);
  t.true(twice.includes('services.second.consumers.reader_b'), twice);
  t.true(twice.includes(`queue ${shared} is already consumed`), twice);

  const prefetch = await refused('consumers.prefetch 0', {
    broker: { urls: amqpUrl },
    services: [defineService({ name: 'alone', database: { url: urls.a }, consumers: [reader('reader', alone)] })],
    consumers: { prefetch: 0 },
  });
  t.regex(prefetch, /consumers\.prefetch/);

  const ownPrefetch = await refused("a consumer's own prefetch 0", {
    broker: { urls: amqpUrl },
    services: [
      defineService({
        name: 'alone',
        database: { url: urls.a },
        consumers: [reader('reader', alone, { prefetch: 0 })],
      }),
    ],
  });
  t.true(ownPrefetch.includes('services.alone.consumers.reader.prefetch'), ownPrefetch);

  await checkNothingCreated();
});
