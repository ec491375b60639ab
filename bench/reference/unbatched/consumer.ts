/**
 * The generic consume loop: parse, one transaction (inbox row first), ack after the commit. A message that
 * cannot be parsed goes to `<queue>.dead`; a failed transaction is rolled back and nacked with requeue
 * after a short pause. No attempt counting beyond that: the benchmark never fails a message.
 */
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type pg from 'pg';
import type { Publisher } from '../shared/publisher.js';

export interface Handler<M> {
  readonly queue: string;
  parse(body: unknown): M | undefined;
  key(message: M): string;
  /** Runs inside the transaction, after the inbox row was inserted; returns what to do after the commit. */
  handle(client: pg.PoolClient, message: M): Promise<(() => Promise<void>) | undefined>;
}

export async function consume<M>(
  channel: Channel,
  pool: pg.Pool,
  publisher: Publisher,
  handler: Handler<M>,
): Promise<void> {
  await channel.consume(handler.queue, (delivery) => {
    if (delivery) void handleDelivery(channel, pool, publisher, handler, delivery);
  });
}

async function handleDelivery<M>(
  channel: Channel,
  pool: pg.Pool,
  publisher: Publisher,
  handler: Handler<M>,
  delivery: ConsumeMessage,
): Promise<void> {
  let message: M | undefined;
  try {
    message = handler.parse(JSON.parse(delivery.content.toString('utf8')));
  } catch {
    message = undefined;
  }
  if (message === undefined) {
    try {
      await publisher.publish(`${handler.queue}.dead`, randomUUID(), delivery.content, { 'x-reason': 'poison' });
      channel.ack(delivery);
    } catch {
      safeNack(channel, delivery);
    }
    return;
  }
  let after: (() => Promise<void>) | undefined;
  const client = await pool.connect().catch(() => undefined);
  if (!client) return void setTimeout(() => safeNack(channel, delivery), 200);
  try {
    await client.query('BEGIN');
    const inserted = await client.query(
      'INSERT INTO inbox (consumer, message_key) VALUES ($1, $2) ON CONFLICT (consumer, message_key) DO NOTHING RETURNING consumer',
      [handler.queue, handler.key(message)],
    );
    if (inserted.rowCount === 1) after = await handler.handle(client, message);
    await client.query('COMMIT');
    client.release();
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    client.release(error instanceof Error ? error : undefined);
    console.error(JSON.stringify({ level: 'error', message: 'delivery failed', error: String(error) }));
    setTimeout(() => safeNack(channel, delivery), 200);
    return;
  }
  try {
    channel.ack(delivery);
  } catch {
    // channel gone: the broker redelivers, the inbox absorbs it
  }
  await after?.();
}

function safeNack(channel: Channel, delivery: ConsumeMessage): void {
  try {
    channel.nack(delivery, false, true);
  } catch {
    // channel gone: the broker redelivers
  }
}
