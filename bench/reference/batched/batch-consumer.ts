/**
 * The batched consume loop: deliveries that wait (up to `maxBatch`, gathered for at most `lingerMs`) share
 * one transaction: one multi-row inbox INSERT (dedup by natural key), then the handler's multi-row
 * statements for the messages not seen before. After the commit the batch is acked with `multiple`.
 * Batches may run `concurrency` at once, so acks are given in delivery order: a batch's `multiple` ack
 * waits for the batches delivered before it. A failed batch is rolled back and its messages are nacked
 * with requeue after a short pause; a body that cannot be parsed is dead-lettered (confirmed) first.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type pg from 'pg';
import type { Publisher } from '../shared/publisher.js';
import { inTransaction } from './transaction.js';

export interface BatchHandler<M> {
  readonly queue: string;
  parse(body: unknown): M | undefined;
  key(message: M): string;
  /** Runs inside the transaction for the messages whose inbox rows were new; returns what to do after the commit. */
  handleMany(client: pg.PoolClient, messages: readonly M[]): Promise<(() => Promise<void>) | undefined>;
}

export interface BatchSettings {
  readonly maxBatch: number;
  readonly lingerMs: number;
  readonly concurrency: number;
}

interface Batch {
  readonly deliveries: readonly ConsumeMessage[];
  outcome: 'running' | 'ack' | 'nack';
}

function parseDelivery<M>(handler: BatchHandler<M>, delivery: ConsumeMessage): M | undefined {
  try {
    return handler.parse(JSON.parse(delivery.content.toString('utf8')));
  } catch {
    return undefined;
  }
}

/** Acks and nacks in delivery order, whatever order the batches finish in. */
class OrderedAcks {
  readonly #batches: Batch[] = [];
  constructor(private readonly channel: Channel) {}

  open(deliveries: readonly ConsumeMessage[]): Batch {
    const batch: Batch = { deliveries, outcome: 'running' };
    this.#batches.push(batch);
    return batch;
  }

  settle(batch: Batch, outcome: 'ack' | 'nack'): void {
    batch.outcome = outcome;
    let lastAcked: ConsumeMessage | undefined;
    while (this.#batches[0] !== undefined && this.#batches[0].outcome !== 'running') {
      const head = this.#batches.shift()!;
      if (head.outcome === 'ack') {
        lastAcked = head.deliveries.at(-1);
        continue;
      }
      if (lastAcked) this.#ackUpTo(lastAcked);
      lastAcked = undefined;
      this.#nackEach(head.deliveries);
    }
    if (lastAcked) this.#ackUpTo(lastAcked);
  }

  #ackUpTo(delivery: ConsumeMessage): void {
    try {
      this.channel.ack(delivery, true);
    } catch {
      // channel gone: the broker redelivers, the inbox absorbs it
    }
  }

  #nackEach(deliveries: readonly ConsumeMessage[]): void {
    for (const delivery of deliveries) {
      try {
        this.channel.nack(delivery, false, true);
      } catch {
        // channel gone: the broker redelivers
      }
    }
  }
}

export async function consumeInBatches<M>(
  channel: Channel,
  pool: pg.Pool,
  publisher: Publisher,
  handler: BatchHandler<M>,
  settings: BatchSettings,
): Promise<void> {
  const acks = new OrderedAcks(channel);
  const waiting: ConsumeMessage[] = [];
  let running = 0;
  let linger: NodeJS.Timeout | undefined;

  const startBatches = () => {
    clearTimeout(linger);
    linger = undefined;
    while (running < settings.concurrency && waiting.length > 0) {
      const batch = acks.open(waiting.splice(0, settings.maxBatch));
      running += 1;
      void runBatch(pool, publisher, handler, batch.deliveries).then((ok) => {
        running -= 1;
        if (ok) acks.settle(batch, 'ack');
        else setTimeout(() => acks.settle(batch, 'nack'), 200);
        if (waiting.length >= settings.maxBatch) startBatches();
        else if (waiting.length > 0 && linger === undefined) linger = setTimeout(startBatches, settings.lingerMs);
      });
    }
  };

  await channel.consume(handler.queue, (delivery) => {
    if (!delivery) return;
    waiting.push(delivery);
    if (waiting.length >= settings.maxBatch) startBatches();
    else if (linger === undefined) linger = setTimeout(startBatches, settings.lingerMs);
  });
}

/** One batch: dead-letters what cannot be parsed, then one transaction for the rest. True when it may be acked. */
async function runBatch<M>(
  pool: pg.Pool,
  publisher: Publisher,
  handler: BatchHandler<M>,
  deliveries: readonly ConsumeMessage[],
): Promise<boolean> {
  const messages: M[] = [];
  const poison: ConsumeMessage[] = [];
  for (const delivery of deliveries) {
    const message = parseDelivery(handler, delivery);
    if (message === undefined) poison.push(delivery);
    else messages.push(message);
  }
  try {
    await Promise.all(
      poison.map((delivery) =>
        publisher.publish(`${handler.queue}.dead`, randomUUID(), delivery.content, { 'x-reason': 'poison' }),
      ),
    );
    if (messages.length === 0) return true;
    const after = await inTransaction(pool, async (client) => {
      const fresh = await newMessages(client, handler, messages);
      return fresh.length > 0 ? handler.handleMany(client, fresh) : undefined;
    });
    void after?.().catch(() => {});
    return true;
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', message: 'batch failed', error: String(error) }));
    return false;
  }
}

/** Inserts the batch's inbox rows in one statement; returns the messages whose key was new (once per key). */
async function newMessages<M>(client: pg.PoolClient, handler: BatchHandler<M>, messages: readonly M[]): Promise<M[]> {
  const byKey = new Map<string, M>();
  for (const message of messages) {
    const key = handler.key(message);
    if (!byKey.has(key)) byKey.set(key, message);
  }
  const { rows } = await client.query<{ message_key: string }>(
    `INSERT INTO inbox (consumer, message_key) SELECT $1, unnest($2::text[])
     ON CONFLICT (consumer, message_key) DO NOTHING RETURNING message_key`,
    [handler.queue, [...byKey.keys()]],
  );
  return rows.map((row) => byKey.get(row.message_key)!);
}
