/**
 * Delayed retries through the broker, against the real broker and database: a failing message waits in a
 * delay queue of its consumer (holding no prefetch place and nothing in the process) and comes back by the
 * queue's TTL; the waits grow from one level to the next; other messages flow meanwhile; a process killed
 * while messages wait loses none of them.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createLogger,
  deadLetterHeader,
  defineConsumer,
  defineService,
  startRuntime,
  type DeliveryInfo,
  type Runtime,
} from 'ackstate';
import amqplib from 'amqplib';
import test, { type ExecutionContext } from 'ava';
import type { Kysely, Migration, Transaction } from 'kysely';
import { z } from 'zod';
import { peekQueue, publishRaw, queueCounts } from './support/broker.js';
import { amqpUrl, createTestEnvironment, delayQueuesOf, postgresServer, query } from './support/environment.js';
import { scrape, sumIn } from './support/metrics-text.js';
import { repoRoot, startService } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

interface HitsDatabase {
  hits: { id: string };
}

const migrations: Record<string, Migration> = {
  '0001_hits': {
    up: (db: Kysely<unknown>) =>
      db.schema
        .createTable('hits')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .execute(),
  },
};

const ping = z.object({ id: z.string() });

/** A queue and database of one test, removed afterwards with the delay queues of `delaySeconds`. */
function names(t: ExecutionContext, delaySeconds: readonly number[]) {
  const prefix = `t_delay_${randomUUID().replaceAll('-', '')}`;
  const queue = `${prefix}_in`;
  const databaseUrl = `${postgresServer}/ackstate_${prefix}`;
  t.teardown(async () => {
    const connection = await amqplib.connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      for (const name of [queue, `${queue}.dead`, ...delayQueuesOf(queue, delaySeconds)]) {
        await channel.deleteQueue(name);
      }
      await channel.close();
    } finally {
      await connection.close();
    }
    const name = new URL(databaseUrl).pathname.slice(1);
    await query(`${postgresServer}/postgres`, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
  return { queue, databaseUrl };
}

interface Arrival {
  readonly id: string;
  readonly at: number;
  readonly headers: DeliveryInfo['headers'];
}

async function startConsumer(
  t: ExecutionContext,
  options: {
    queue: string;
    databaseUrl: string;
    delaySeconds: readonly number[];
    prefetch?: number;
    immediateRetries?: number;
    maxAttempts?: number;
    /** Whether this call fails (`call` counts the calls of the message with this id, from 1). */
    fails: (id: string, call: number, delivery: DeliveryInfo) => boolean;
  },
) {
  const arrivals: Arrival[] = [];
  const calls = new Map<string, number>();
  const consumer = defineConsumer({
    queue: options.queue,
    name: 'flaky',
    schema: ping,
    key: (message) => `ping:${message.id}`,
    immediateRetries: options.immediateRetries ?? 0,
    delayedRetriesMs: options.delaySeconds.map((seconds) => seconds * 1_000),
    maxAttempts: options.maxAttempts ?? 10,
    ...(options.prefetch !== undefined && { prefetch: options.prefetch }),
    async handle(trx: Transaction<HitsDatabase>, message, _out, delivery) {
      arrivals.push({ id: message.id, at: Date.now(), headers: delivery.headers });
      const call = (calls.get(message.id) ?? 0) + 1;
      calls.set(message.id, call);
      if (options.fails(message.id, call, delivery)) throw new Error(`flaky failure ${call} of ${message.id}`);
      await trx.insertInto('hits').values({ id: message.id }).execute();
    },
  });
  const service = defineService({
    name: 'flaky',
    database: { url: options.databaseUrl, migrations },
    consumers: [consumer],
  });
  const runtime: Runtime = await startRuntime({
    broker: { urls: amqpUrl },
    http: { port: 0 },
    logger: createLogger('error'),
    services: [service],
  });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= runtime.stop());
  t.teardown(stop);
  const metrics = async (outcome: string) =>
    sumIn(await scrape(`http://127.0.0.1:${runtime.port}/metrics`), 'ackstate_deliveries_total', {
      queue: options.queue,
      outcome,
    });
  return { arrivals, calls, stop, metrics };
}

const hits = async (databaseUrl: string) =>
  (await query<{ id: string }>(databaseUrl, 'SELECT id FROM hits ORDER BY id')).map((row) => row.id);

test('a message that fails three times waits in growing delay queues, then is processed once', async (t) => {
  const delaySeconds = [1, 2, 4];
  const { queue, databaseUrl } = names(t, delaySeconds);
  const consumer = await startConsumer(t, { queue, databaseUrl, delaySeconds, fails: (_id, call) => call <= 3 });

  await publishRaw(queue, [JSON.stringify({ id: 'flaky-1' })], { messageId: 'flaky-1' });
  await waitUntil(async () => (await hits(databaseUrl)).length === 1, {
    timeoutMs: 60_000,
    what: () => `the message to succeed (arrivals so far: ${consumer.arrivals.length})`,
  });
  t.deepEqual(await hits(databaseUrl), ['flaky-1'], 'processed once');
  t.is(consumer.arrivals.length, 4, 'three failed attempts and the one that succeeded');

  const waits = consumer.arrivals.slice(1).map((arrival, index) => arrival.at - consumer.arrivals[index]!.at);
  t.log(`waits between arrivals (ms): ${waits.join(', ')}, for delay levels of ${delaySeconds.join(', ')} s`);
  t.true(waits[0]! >= 900, `the first delayed retry waited about a second (${waits[0]} ms)`);
  t.true(waits[1]! > waits[0]! && waits[2]! > waits[1]!, `the waits grow: ${waits.join(' < ')} ms`);

  // The broker's own record of the waits: one x-death entry per delay queue the message expired in.
  const deaths = (consumer.arrivals.at(-1)!.headers['x-death'] ?? []) as { queue: string; reason: string }[];
  t.log(`x-death of the last arrival: ${JSON.stringify(deaths.map(({ queue, reason }) => ({ queue, reason })))}`);
  t.deepEqual(
    deaths.map((death) => death.queue).sort(),
    delayQueuesOf(queue, delaySeconds).sort(),
    'it expired once in each delay queue',
  );
  t.true(deaths.every((death) => death.reason === 'expired'));

  await waitUntil(async () => (await consumer.metrics('acked')) === 1, { what: 'the acked delivery in /metrics' });
  t.is(await consumer.metrics('delayed'), 3, 'three deliveries ended delayed');
  t.is(await consumer.metrics('dead-lettered'), 0);
  for (const name of [queue, `${queue}.dead`, ...delayQueuesOf(queue, delaySeconds)]) {
    t.is((await queueCounts(name)).messages, 0, `${name} is empty`);
  }
  const [attempts] = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM delivery_attempts');
  t.is(attempts!.n, '0', 'the count of a message that succeeded is cleared');
});

test('after the last attempt the message is dead-lettered with the reason of every attempt, shown by dlq show', async (t) => {
  const delaySeconds = [1];
  const { queue, databaseUrl } = names(t, delaySeconds);
  const consumer = await startConsumer(t, {
    queue,
    databaseUrl,
    delaySeconds,
    immediateRetries: 1,
    maxAttempts: 4,
    fails: () => true,
  });

  await publishRaw(queue, [JSON.stringify({ id: 'doomed' })], { messageId: 'doomed' });
  const [deadLetter] = await waitUntil(
    async () => {
      const messages = await peekQueue(`${queue}.dead`);
      return messages.length === 1 ? messages : undefined;
    },
    { what: `the dead letter in ${queue}.dead` },
  );
  const headers = deadLetter!.properties.headers ?? {};
  t.is(headers[deadLetterHeader.attempts], 4);
  t.deepEqual(
    headers[deadLetterHeader.attemptReasons],
    [1, 2, 3, 4].map((call) => `flaky failure ${call} of doomed`),
    'one immediate retry, two delayed ones, then the last attempt: each reason, oldest first',
  );
  t.is(consumer.calls.get('doomed'), 4);
  await waitUntil(async () => (await consumer.metrics('dead-lettered')) === 1, { what: 'the dead-lettered delivery' });
  t.is(await consumer.metrics('delayed'), 2);
  t.is(await consumer.metrics('retried'), 1);

  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(repoRoot, 'dist/cli.js'), 'dlq', 'show', queue, 'doomed'],
    { env: { PATH: process.env.PATH ?? '', AMQP_URL: amqpUrl } },
  );
  t.regex(stdout, /x-ackstate-attempt-reasons: \["flaky failure 1 of doomed",.*"flaky failure 4 of doomed"\]/);
});

test('while failed messages wait in a delay queue, other messages flow through the same consumer', async (t) => {
  const delaySeconds = [15]; // long enough that 200 messages go through first even on a busy machine
  const { queue, databaseUrl } = names(t, delaySeconds);
  const failing = Array.from({ length: 20 }, (_, index) => `bad-${String(index).padStart(2, '0')}`);
  const good = Array.from({ length: 200 }, (_, index) => `good-${String(index).padStart(3, '0')}`);
  const warm = good.map((id) => `warm-${id}`);
  // A prefetch smaller than the failing messages: if they held their places, nothing else would flow.
  const consumer = await startConsumer(t, {
    queue,
    databaseUrl,
    delaySeconds,
    prefetch: 10,
    // A failing message fails (alone or in a batch) until it has been through the delay queue.
    fails: (id, _call, delivery) => id.startsWith('bad-') && delivery.headers['x-death'] === undefined,
  });

  // The same consumer's speed with nothing waiting, for comparison.
  const warmPublished = Date.now();
  await publishRaw(
    queue,
    warm.map((id) => JSON.stringify({ id })),
  );
  await waitUntil(async () => (await hits(databaseUrl)).length === warm.length, { what: 'the warm-up messages' });
  const warmMs = Date.now() - warmPublished;

  // The failing messages arrive among others, one in ten, as bad messages do: a burst of nothing but failures
  // of several messages would be taken for an outage by the consumer's breaker, which pauses instead.
  const mixed = failing.flatMap((id) => [id, ...Array.from({ length: 9 }, (_, index) => `mix-${id}-${index}`)]);
  const fillers = mixed.filter((id) => id.startsWith('mix-'));
  await publishRaw(
    queue,
    mixed.map((id) => JSON.stringify({ id })),
  );
  const delayQueue = delayQueuesOf(queue, delaySeconds)[0]!;
  await waitUntil(async () => (await queueCounts(delayQueue)).messages === failing.length, {
    what: `the ${failing.length} failing messages in ${delayQueue}`,
  });
  const goodPublished = Date.now();
  await publishRaw(
    queue,
    good.map((id) => JSON.stringify({ id })),
  );
  await waitUntil(async () => (await hits(databaseUrl)).filter((id) => id.startsWith('good-')).length === good.length, {
    what: 'every good message',
  });
  const goodDone = Date.now();
  const lastGood = Math.max(...consumer.arrivals.filter((each) => each.id.startsWith('good-')).map((each) => each.at));

  const total = warm.length + good.length + failing.length + fillers.length;
  await waitUntil(async () => (await hits(databaseUrl)).length === total, {
    what: 'the failing messages, back from the delay queue',
  });
  const returns = consumer.arrivals.filter((each) => each.headers['x-death'] !== undefined);
  const firstReturn = Math.min(...returns.map((each) => each.at));
  const rate = (count: number, ms: number) => Math.round((count * 1_000) / ms);
  t.log(
    `${good.length} messages (published and processed, prefetch 10): ${warmMs} ms (${rate(good.length, warmMs)}/s) ` +
      `with nothing waiting, ${goodDone - goodPublished} ms (${rate(good.length, goodDone - goodPublished)}/s) ` +
      `while ${failing.length} failed ones waited in ${delayQueue.replace(queue, '<queue>')}; ` +
      `the first of those came back ${firstReturn - lastGood} ms after the last good message`,
  );
  t.true(lastGood < firstReturn, 'every good message was processed before the first delayed retry came back');
  t.is(returns.length, failing.length, 'each failing message came back once');
  t.deepEqual(
    await hits(databaseUrl),
    [...failing, ...good, ...warm, ...fillers].sort(),
    'every message processed once',
  );
  t.is(await consumer.metrics('delayed'), failing.length);
});

test('a process killed while messages wait in a delay queue loses none: after a restart each is processed once', async (t) => {
  const delaySeconds = [6];
  // Fewer than the outage breaker's 5 failures in a row (src/policies/circuit-breaker.ts), which it would take
  // for an outage and pause instead of delaying.
  const users = 4;
  const environment = createTestEnvironment('delaykill', {
    IMMEDIATE_RETRIES: '0',
    DELAYED_RETRY_SECONDS: delaySeconds.join(','),
    MAX_BATCH: '1',
  });
  t.teardown(() => environment.cleanUp());
  const failing = await startService({ ...environment.env, FAILPOINTS: `card.persist=error*${users}` }, 'card');
  t.teardown(() => failing.kill());

  const ids = Array.from({ length: users }, () => randomUUID());
  await publishRaw(
    environment.userQueue,
    ids.map((id) =>
      JSON.stringify({ id, name: 'Delayed', email: `${id}@example.com`, created_at: new Date().toISOString() }),
    ),
  );
  const delayQueue = delayQueuesOf(environment.userQueue, delaySeconds)[0]!;
  await waitUntil(async () => (await queueCounts(delayQueue)).messages === users, {
    what: async () => `${users} messages in ${delayQueue} (now ${(await queueCounts(delayQueue)).messages})`,
  });
  t.is((await queueCounts(environment.userQueue)).messages, 0, 'none left in the queue: all acked, all waiting');
  await failing.kill();
  const killedAt = Date.now();

  const restarted = await startService(environment.env, 'card');
  t.teardown(() => restarted.stop());
  const cards = async () =>
    query<{ user_id: string; n: string }>(
      environment.cardDbUrl,
      'SELECT user_id, count(*) AS n FROM cards GROUP BY user_id ORDER BY user_id',
    );
  await waitUntil(async () => (await cards()).length === users, { what: 'a card for every user' });
  t.log(`every message processed ${Date.now() - killedAt} ms after the kill (delay level ${delaySeconds[0]} s)`);
  t.deepEqual(
    (await cards()).map((row) => [row.user_id, row.n]),
    [...ids].sort().map((id) => [id, '1']),
    'one card per user',
  );
  for (const name of [environment.userQueue, `${environment.userQueue}.dead`, delayQueue]) {
    t.is((await queueCounts(name)).messages, 0, `${name} is empty`);
  }
  const delayed = failing.logs.filter((line) => line.machine === 'delivery' && line.outcome === 'delayed');
  t.is(delayed.length, users, 'each failed once and was delayed, before the kill');
});
