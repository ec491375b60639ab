/**
 * Retention against the real database and broker, through the public entry: a duplicate inside the
 * deduplication window is still absorbed; inbox rows, sent outbox rows and attempt counts past their window
 * are removed (back-dated with SQL), and a duplicate arriving after the window is processed again; an unsent
 * outbox row survives whatever its age; retention sweeping all the time beside a few thousand messages
 * fails none of them; and a batch that cannot get its lock gives up, backs off and comes back.
 */
import { randomUUID } from 'node:crypto';
import { defineConsumer, defineService, type Runtime } from 'ackstate';
import pg from 'pg';
import test from 'ava';
import type { Kysely, Migration, Transaction } from 'kysely';
import { sql } from 'kysely';
import { z } from 'zod';
import { publishRaw, queueCounts } from './support/broker.js';
import { amqpUrl, postgresServer, query } from './support/environment.js';
import { scrape, sumIn, valueIn, type Sample } from './support/metrics-text.js';
import { startTestRuntime, type Created } from './support/runtime.js';
import { waitUntil } from './support/wait.js';

const uniquePrefix = () => `t_ret_${randomUUID().replaceAll('-', '').slice(0, 20)}`;

/** One row per item id, counting how often its message was processed (committed). */
interface ItemsDatabase {
  items: { id: string; times: number };
}

const itemsMigrations: Record<string, Migration> = {
  '0001_items': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('items')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('times', 'integer', (col) => col.notNull())
        .execute();
    },
  },
};

const item = z.strictObject({ id: z.string() });

const timesOf = async (url: string, id: string) =>
  (await query<{ times: number }>(url, 'SELECT times FROM items WHERE id = $1', [id]))[0]?.times ?? 0;
const countOf = async (url: string, text: string, values: unknown[] = []) =>
  (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM ${text}`, values))[0]!.n;

const metricsOf = (runtime: Runtime) => scrape(`http://127.0.0.1:${runtime.port}/metrics`);
const removedIn = (samples: readonly Sample[], service: string, table: string) =>
  valueIn(samples, 'ackstate_retention_removed_total', { service, table }) ?? 0;
/** Sweeps ended: each one leaves `waiting` once, so the count of that state's time is how many started. */
const sweepsIn = (samples: readonly Sample[]) =>
  valueIn(samples, 'ackstate_state_duration_seconds_count', { machine: 'retention', state: 'waiting' }) ?? 0;

test('retention removes what expired, absorbs duplicates inside the window, and never removes an unsent outbox row', async (t) => {
  const prefix = uniquePrefix();
  const queue = `${prefix}_in`;
  const outQueue = `${prefix}_out`;
  const databaseUrl = `${postgresServer}/ackstate_${prefix}`;
  const created: Created = { queues: [queue, outQueue], databases: [databaseUrl] };

  const keep = defineConsumer({
    queue,
    schema: item,
    key: (message) => `item:${message.id}`,
    publishes: [{ queue: outQueue }],
    async handle(trx: Transaction<ItemsDatabase>, message, out) {
      await trx
        .insertInto('items')
        .values({ id: message.id, times: 1 })
        .onConflict((conflict) => conflict.column('id').doUpdateSet({ times: sql<number>`items.times + 1` }))
        .execute();
      out.publish({ queue: outQueue }, { id: message.id });
    },
  });
  const service = defineService({
    name: 'keeper',
    database: { url: databaseUrl, migrations: itemsMigrations },
    consumers: [keep],
  });
  // The default windows (7 days, 1 day), swept every 50 ms.
  const { runtime } = await startTestRuntime(t, created, {
    broker: { urls: amqpUrl },
    services: [service],
    retention: { intervalMs: 50 },
  });

  const published = async (id: string) => publishRaw(queue, [JSON.stringify({ id })]);
  const processed = (id: string, times: number) =>
    waitUntil(async () => (await timesOf(databaseUrl, id)) === times, { what: `${id} processed ${times} time(s)` });
  const sent = (id: string) =>
    waitUntil(
      async () =>
        (await countOf(databaseUrl, `outbox WHERE body = $1 AND sent_at IS NOT NULL`, [JSON.stringify({ id })])) === 1,
      {
        what: `the outbox row of ${id} sent`,
      },
    );

  await published('old');
  await processed('old', 1);
  await sent('old');

  // An unsent row older than any window, never due (so the relay leaves it alone), and two attempt counts.
  const unsentId = randomUUID();
  await query(
    databaseUrl,
    `INSERT INTO outbox (id, routing_key, body, created_at, next_attempt_at)
     VALUES ($1, $2, '{"unsent":true}', now() - interval '10 years', 'infinity')`,
    [unsentId, outQueue],
  );
  await query(
    databaseUrl,
    `INSERT INTO delivery_attempts (consumer, message_key, attempts, last_error, updated_at)
     VALUES ($1, 'item:quiet', 5, 'dead-lettered long ago', now() - interval '8 days'),
            ($1, 'item:retrying', 2, 'still failing', now() - interval '6 days')`,
    [queue],
  );
  // The first message, and its outgoing row, as if they were older than their windows.
  await query(databaseUrl, `UPDATE inbox SET received_at = now() - interval '8 days' WHERE message_key = 'item:old'`);
  await query(
    databaseUrl,
    `UPDATE outbox SET created_at = now() - interval '2 days', sent_at = now() - interval '2 days' WHERE body = $1`,
    [JSON.stringify({ id: 'old' })],
  );

  // Inside the window: a repeat is a duplicate.
  await published('recent');
  await processed('recent', 1);
  await sent('recent');
  await published('recent');
  await waitUntil(
    async () => sumIn(await metricsOf(runtime), 'ackstate_deliveries_total', { queue, outcome: 'duplicate' }) === 1,
    { what: 'the repeat of "recent" acked as a duplicate' },
  );
  t.is(await timesOf(databaseUrl, 'recent'), 1, 'the duplicate inside the window changed nothing');

  // Past the window: removed by the sweeps.
  await waitUntil(
    async () =>
      (await countOf(databaseUrl, `inbox WHERE message_key = 'item:old'`)) === 0 &&
      (await countOf(databaseUrl, `outbox WHERE body = $1`, [JSON.stringify({ id: 'old' })])) === 0 &&
      (await countOf(databaseUrl, `delivery_attempts WHERE message_key = 'item:quiet'`)) === 0,
    { what: 'the expired inbox row, sent outbox row and attempt count removed' },
  );
  const afterRemoval = sweepsIn(await metricsOf(runtime));
  await waitUntil(async () => sweepsIn(await metricsOf(runtime)) >= afterRemoval + 3, {
    what: 'three more sweeps',
  });

  t.is(
    await countOf(databaseUrl, 'outbox WHERE id = $1 AND sent_at IS NULL', [unsentId]),
    1,
    'the unsent row survives',
  );
  t.is(
    await countOf(databaseUrl, `delivery_attempts WHERE message_key = 'item:retrying'`),
    1,
    'a count inside the window stays',
  );
  t.is(
    await countOf(databaseUrl, `inbox WHERE message_key = 'item:recent'`),
    1,
    'an inbox row inside the window stays',
  );
  t.is(
    await countOf(databaseUrl, `outbox WHERE body = $1`, [JSON.stringify({ id: 'recent' })]),
    1,
    'a recently sent row stays',
  );

  // Where the guarantee ends: the first message again, after its window, is processed again.
  await published('old');
  await processed('old', 2);

  const samples = await metricsOf(runtime);
  t.true(removedIn(samples, 'keeper', 'inbox') >= 1);
  t.true(removedIn(samples, 'keeper', 'outbox') >= 1);
  t.true(removedIn(samples, 'keeper', 'delivery_attempts') >= 1);
  for (const table of ['inbox', 'outbox', 'delivery_attempts']) {
    const rows = valueIn(samples, 'ackstate_table_rows', { service: 'keeper', table });
    const bytes = valueIn(samples, 'ackstate_table_bytes', { service: 'keeper', table });
    t.true(rows !== undefined && rows >= 0, `ackstate_table_rows{table="${table}"} is ${rows}`);
    t.true(bytes !== undefined && bytes > 0, `ackstate_table_bytes{table="${table}"} is ${bytes}`);
  }
  t.is(
    sumIn(samples, 'ackstate_actor_state', { actor: 'retention:keeper' }),
    1,
    'the supervisor runs retention:keeper',
  );
  t.is(sumIn(samples, 'ackstate_scrape_errors_total', { probe: 'tables:keeper' }), 0);
  t.log(`sweeps: ${sweepsIn(samples)}`);
});

test('retention sweeping all the time beside a few thousand messages fails none of them', async (t) => {
  const prefix = uniquePrefix();
  const queue = `${prefix}_in`;
  const outQueue = `${prefix}_out`;
  const databaseUrl = `${postgresServer}/ackstate_${prefix}`;
  const created: Created = { queues: [queue, outQueue], databases: [databaseUrl] };
  const total = 3_000;
  const backlog = 50_000;

  const once = defineConsumer({
    queue,
    schema: item,
    key: (message) => `item:${message.id}`,
    publishes: [{ queue: outQueue }],
    // A plain insert: a message processed twice would fail on the primary key, and show as retried.
    async handle(trx: Transaction<ItemsDatabase>, message, out) {
      await trx.insertInto('items').values({ id: message.id, times: 1 }).execute();
      out.publish({ queue: outQueue }, { id: message.id });
    },
    async handleMany(trx: Transaction<ItemsDatabase>, messages, out) {
      await trx
        .insertInto('items')
        .values(messages.map((message) => ({ id: message.id, times: 1 })))
        .execute();
      for (const message of messages) out.publish({ queue: outQueue }, { id: message.id });
      return messages.map(() => undefined);
    },
  });
  const service = defineService({
    name: 'loaded',
    database: { url: databaseUrl, migrations: itemsMigrations },
    consumers: [once],
    // Short windows, so that this run's own rows are removed while it runs.
    retention: { deduplicationWindowMs: 1_000, sentOutboxGraceMs: 0 },
  });
  const { runtime } = await startTestRuntime(t, created, {
    broker: { urls: amqpUrl },
    services: [service],
    // Retries stay in process and short, so that a window of 1 s outlasts them (the runtime checks it).
    consumers: { retry: { baseMs: 10, maxMs: 100 }, delayedRetriesMs: [] },
    retention: { intervalMs: 10, batchSize: 200, batchPauseMs: 0 },
  });

  // A backlog for the sweeps to chew through while the messages flow: expired rows of another queue.
  await query(
    databaseUrl,
    `INSERT INTO inbox (consumer, message_key, received_at)
     SELECT 'elsewhere', 'old:' || g, now() - interval '30 days' FROM generate_series(1, $1::int) AS g`,
    [backlog],
  );
  await query(
    databaseUrl,
    `INSERT INTO delivery_attempts (consumer, message_key, attempts, updated_at)
     SELECT 'elsewhere', 'old:' || g, 1, now() - interval '30 days' FROM generate_series(1, $1::int) AS g`,
    [backlog / 10],
  );

  // And an unsent row older than any window, never due: a grace of 0 ms must not touch it either.
  const unsentId = randomUUID();
  await query(
    databaseUrl,
    `INSERT INTO outbox (id, routing_key, body, created_at, next_attempt_at)
     VALUES ($1, $2, '{"unsent":true}', now() - interval '10 years', 'infinity')`,
    [unsentId, outQueue],
  );

  const started = performance.now();
  const ids = Array.from({ length: total }, (_, index) => `${prefix}-${index}`);
  await publishRaw(
    queue,
    ids.map((id) => JSON.stringify({ id })),
  );
  const samples = await waitUntil(
    async () => {
      const now = await metricsOf(runtime);
      const ended = sumIn(now, 'ackstate_deliveries_total', { queue });
      return ended >= total ? now : undefined;
    },
    { timeoutMs: 90_000, what: `${total} deliveries ended` },
  );
  const seconds = (performance.now() - started) / 1_000;
  // The outgoing messages are all confirmed: the out queue holds one per message.
  await waitUntil(async () => (await queueCounts(outQueue)).messages === total, {
    what: `${total} messages in ${outQueue}`,
  });

  const outcome = (name: string) => sumIn(samples, 'ackstate_deliveries_total', { queue, outcome: name });
  t.is(outcome('acked'), total);
  t.is(outcome('retried'), 0, 'no delivery retried');
  t.is(outcome('dead-lettered'), 0, 'no delivery dead-lettered');
  t.is(outcome('duplicate'), 0);
  t.is(sumIn(samples, 'ackstate_consumer_pauses_total', { queue }), 0);
  t.is(await countOf(databaseUrl, 'items WHERE times = 1'), total, 'every message processed once');
  t.is((await queueCounts(`${queue}.dead`)).messages, 0);

  // Removed while the messages flowed, then the rest of the backlog.
  const during = {
    inbox: removedIn(samples, 'loaded', 'inbox'),
    outbox: removedIn(samples, 'loaded', 'outbox'),
    attempts: removedIn(samples, 'loaded', 'delivery_attempts'),
  };
  t.true(during.inbox > 0, 'inbox rows were removed during the run');
  t.true(during.outbox > 0, 'sent outbox rows were removed during the run');
  const after = await waitUntil(
    async () => {
      const now = await metricsOf(runtime);
      return removedIn(now, 'loaded', 'inbox') >= backlog + total ? now : undefined;
    },
    { what: "the backlog and the run's own inbox rows removed" },
  );
  t.is(await countOf(databaseUrl, 'inbox'), 0);
  await waitUntil(async () => (await countOf(databaseUrl, 'outbox WHERE sent_at IS NOT NULL')) === 0, {
    what: 'every sent row removed after its grace of 0 ms',
  });
  t.is(
    await countOf(databaseUrl, 'outbox WHERE id = $1 AND sent_at IS NULL', [unsentId]),
    1,
    'the unsent row survives',
  );
  t.is(sumIn(after, 'ackstate_state_duration_seconds_count', { machine: 'retention', state: 'backingOff' }), 0);
  t.log(
    `${total} messages in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s) beside ${sweepsIn(samples)} sweeps, ` +
      `which removed meanwhile ${during.inbox} inbox, ${during.outbox} outbox and ${during.attempts} attempt rows ` +
      `(${sweepsIn(after)} sweeps and ${removedIn(after, 'loaded', 'inbox')} inbox rows by the end)`,
  );
});

test('a batch that cannot get its lock gives up within the lock timeout, backs off, and sweeps again once it can', async (t) => {
  const prefix = uniquePrefix();
  const databaseUrl = `${postgresServer}/ackstate_${prefix}`;
  const created: Created = { queues: [], databases: [databaseUrl] };
  const service = defineService({ name: 'locked', database: { url: databaseUrl } });
  const { runtime } = await startTestRuntime(t, created, {
    broker: { urls: amqpUrl },
    services: [service],
    retention: { intervalMs: 20 },
  });
  const backoffsIn = (samples: readonly Sample[]) =>
    valueIn(samples, 'ackstate_state_duration_seconds_count', { machine: 'retention', state: 'backingOff' }) ?? 0;

  // A transaction of the test's own holds the inbox while expired rows wait in it.
  const holder = new pg.Client({ connectionString: databaseUrl });
  holder.on('error', () => {});
  await holder.connect();
  t.teardown(() => holder.end().catch(() => {}));
  await holder.query(
    `INSERT INTO inbox (consumer, message_key, received_at)
     SELECT 'q', 'old:' || g, now() - interval '30 days' FROM generate_series(1, 10) AS g`,
  );
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE');
  const locked = performance.now();

  // The retention machine leaves backingOff once it has entered it: wait for it to have backed off and come back.
  await waitUntil(async () => backoffsIn(await metricsOf(runtime)) >= 1, { what: 'retention backing off' });
  const gaveUpAfter = performance.now() - locked;
  await holder.query('COMMIT');

  await waitUntil(async () => (await countOf(databaseUrl, 'inbox')) === 0, { what: 'the expired rows removed' });
  const samples = await metricsOf(runtime);
  t.is(removedIn(samples, 'locked', 'inbox'), 10);
  t.log(`retention was seen backed off ${Math.round(gaveUpAfter)} ms after the lock was taken (lock timeout 1 s)`);
});
