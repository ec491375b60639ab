/**
 * `npm run bench -- --actors`: what a durable actor's event costs beside a plain handler's, in one process
 * on the local broker and database. Both take the same messages from a queue of their own and do the
 * same visible work per message: a row (the handler's `items` row; the actor's instance, which it starts)
 * and one message published through the outbox. The actor also writes its history row and takes its row
 * lock. Measured from the moment the runtime is up until every message is processed: this process's CPU
 * and the whole machine's (/proc/stat: PostgreSQL's and RabbitMQ's work too), per message, the two in
 * alternating rounds after a warm-up round of each, the ratio paired by round.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import amqplib from 'amqplib';
import { sql, type Kysely, type Migration, type Transaction } from 'kysely';
import pg from 'pg';
import { setup } from 'xstate';
import { z } from 'zod';
import { createLogger, defineConsumer, defineService, startRuntime, type Service } from '../../src/index.js';
import { defineActor, publish } from '../../src/durable-actors.js';
import { amqpUrl, postgresServer } from '../harness/environment.js';

const variants = ['handler', 'actor'] as const;
type Variant = (typeof variants)[number];

interface Sample {
  readonly processMs: number;
  readonly machineMs: number;
  readonly messages: number;
}

const message = z.object({ id: z.string() });

const itemsMigrations: Record<string, Migration> = {
  '0001_items': {
    up: async (db: Kysely<unknown>) => {
      await sql`CREATE TABLE items (id text PRIMARY KEY)`.execute(db);
    },
  },
};

function handlerService(name: string, url: string, queue: string, out: string): Service {
  const consumer = defineConsumer({
    queue,
    schema: message,
    key: (item) => `item:${item.id}`,
    publishes: [{ queue: out }],
    async handle(trx: Transaction<{ items: { id: string } }>, item, publisher) {
      await trx.insertInto('items').values({ id: item.id }).execute();
      publisher.publish({ queue: out }, { id: item.id });
    },
  });
  return defineService({ name, database: { url, migrations: itemsMigrations }, consumers: [consumer] });
}

function actorService(name: string, url: string, queue: string, out: string): Service {
  const machine = setup({ types: { events: {} as { type: 'item'; id: string } } }).createMachine({
    id: 'item',
    initial: 'new',
    states: {
      new: { on: { item: 'stored' } },
      stored: { entry: publish({ queue: out }, ({ event }) => ({ id: event.type === 'item' ? event.id : '' })) },
    },
  });
  const actor = defineActor(machine).with({
    name: 'item',
    version: 1,
    events: [
      { queue, schema: message, id: (item) => item.id, starts: true, event: (item) => ({ type: 'item', id: item.id }) },
    ],
    publishes: [{ queue: out }],
  });
  return defineService({ name, database: { url }, actors: [actor] });
}

function machineBusyMs(): number {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (ticks[0]! + ticks[1]! + ticks[2]! + ticks[5]! + ticks[6]! + ticks[7]!) * 10;
}

async function queueMessages(queue: string, count: number): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    for (let index = 0; index < count; index += 1) {
      channel.sendToQueue(queue, Buffer.from(JSON.stringify({ id: `i-${index}` })), { persistent: true });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

async function dropAll(queues: readonly string[], database: string): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) for (const each of [queue, `${queue}.dead`]) await channel.deleteQueue(each);
  } finally {
    await connection.close();
  }
  const admin = new pg.Client({ connectionString: `${postgresServer}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** One run: `count` messages queued, the runtime started, timed from when it is up until all are processed. */
async function runOnce(variant: Variant, count: number): Promise<Sample> {
  const id = `bench_actor_${randomBytes(4).toString('hex')}`;
  const database = `ackstate_${id}`;
  const url = `${postgresServer}/${database}`;
  const queue = `${id}_in`;
  const out = `${id}_out`;
  const service = variant === 'handler' ? handlerService(id, url, queue, out) : actorService(id, url, queue, out);
  const processed =
    variant === 'handler' ? 'SELECT count(*)::int AS n FROM items' : 'SELECT count(*)::int AS n FROM actor_instances';
  await queueMessages(queue, count);
  const runtime = await startRuntime({
    broker: { urls: amqpUrl },
    http: { port: 0 },
    logger: createLogger('info', { write: () => true } as unknown as NodeJS.WritableStream),
    services: [service],
  });
  const poll = new pg.Client({ connectionString: url });
  try {
    await poll.connect();
    const done = async () => (await poll.query<{ n: number }>(processed)).rows[0]!.n;
    const cpu = process.cpuUsage();
    const machine = machineBusyMs();
    const already = await done();
    while ((await done()) < count) await new Promise((resolve) => setTimeout(resolve, 20));
    const used = process.cpuUsage(cpu);
    return {
      processMs: (used.user + used.system) / 1_000,
      machineMs: machineBusyMs() - machine,
      messages: count - already,
    };
  } finally {
    await poll.end();
    await runtime.stop();
    await dropAll([queue, out, `${id}.item.timers`], database);
  }
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round2 = (value: number) => Math.round(value * 100) / 100;
const round3 = (value: number) => Math.round(value * 1_000) / 1_000;

export interface ActorCost {
  readonly messages: number;
  readonly rounds: number;
  /** Per variant: median CPU ms per message, this process and the whole machine. */
  readonly perMessage: Record<Variant, { readonly processMs: number; readonly machineMs: number }>;
  /** The actor's over the handler's, paired by round: the median and each round's. */
  readonly processRatio: { readonly median: number; readonly rounds: readonly number[] };
  readonly machineRatio: { readonly median: number; readonly rounds: readonly number[] };
}

export async function measureActorCost(count = 10_000, rounds = 5): Promise<ActorCost> {
  for (const variant of variants) await runOnce(variant, count / 4); // warm-up: the JIT, the first connections
  const samples: Record<Variant, Sample[]> = { handler: [], actor: [] };
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? variants : ([...variants].reverse() as Variant[]);
    for (const variant of order) samples[variant].push(await runOnce(variant, count));
  }
  const per = (variant: Variant, field: 'processMs' | 'machineMs') =>
    samples[variant].map((sample) => sample[field] / sample.messages);
  const ratios = (field: 'processMs' | 'machineMs') => {
    const handler = per('handler', field);
    const values = per('actor', field).map((value, index) => round2(value / handler[index]!));
    return { median: median(values), rounds: values };
  };
  const summary = (variant: Variant) => ({
    processMs: round3(median(per(variant, 'processMs'))),
    machineMs: round3(median(per(variant, 'machineMs'))),
  });
  return {
    messages: count,
    rounds,
    perMessage: { handler: summary('handler'), actor: summary('actor') },
    processRatio: ratios('processMs'),
    machineRatio: ratios('machineMs'),
  };
}

export function formatActorCost(cost: ActorCost): string {
  const { handler, actor } = cost.perMessage;
  return [
    `| ${cost.messages} messages, median of ${cost.rounds} rounds | CPU ms per message, this process | the whole machine |`,
    '|---|---|---|',
    `| a plain handler (a row, one message published) | ${handler.processMs} | ${handler.machineMs} |`,
    `| a durable actor's start (its instance, history, one message published) | ${actor.processMs} | ${actor.machineMs} |`,
    `| the actor's / the handler's, paired by round | **${cost.processRatio.median}×** (${cost.processRatio.rounds.join(', ')}) | **${cost.machineRatio.median}×** (${cost.machineRatio.rounds.join(', ')}) |`,
  ].join('\n');
}
