/** Direct access to the local broker, as an outside producer (such as the seed's services) would have it. */
import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, GetMessage, Options } from 'amqplib';
import amqplib from 'amqplib';
import { amqpUrl } from './environment.js';

async function withChannel<T>(use: (channel: ConfirmChannel) => Promise<T>, url = amqpUrl): Promise<T> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    const result = await use(channel);
    await channel.close();
    return result;
  } finally {
    await connection.close();
  }
}

/**
 * Publishes persistent messages with confirms; the queue is declared as the seed declares it. `url`: a broker
 * of the test's own instead of the machine's.
 */
export async function publishRaw(
  queue: string,
  bodies: (string | Buffer)[],
  options: Options.Publish = {},
  url = amqpUrl,
): Promise<void> {
  await withChannel(async (channel) => {
    await channel.assertQueue(queue, { durable: true });
    for (const body of bodies) {
      channel.sendToQueue(queue, Buffer.isBuffer(body) ? body : Buffer.from(body), { persistent: true, ...options });
    }
    await channel.waitForConfirms();
  }, url);
}

/**
 * Publishes one persistent JSON message to an exchange (`''` for the default one, where the routing key is
 * a queue), confirmed and `mandatory`, with a new message id: as another producer would.
 */
export async function publishToExchange(exchange: string, routingKey: string, body: string): Promise<void> {
  await withChannel(async (channel) => {
    channel.publish(exchange, routingKey, Buffer.from(body), {
      persistent: true,
      contentType: 'application/json',
      messageId: randomUUID(),
      mandatory: true,
    });
    await channel.waitForConfirms();
  });
}

export interface QueueCounts {
  readonly messages: number;
  readonly consumers: number;
}

/** A queue's ready messages and consumers, on the machine's broker or on the one at `url`. */
export async function queueCounts(queue: string, url = amqpUrl): Promise<QueueCounts> {
  return withChannel(async (channel) => {
    const { messageCount, consumerCount } = await channel.checkQueue(queue);
    return { messages: messageCount, consumers: consumerCount };
  }, url);
}

/** Reads every message of a queue and puts them all back: a look that changes nothing. */
export async function peekQueue(queue: string, url = amqpUrl): Promise<GetMessage[]> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    const seen: GetMessage[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: false });
      if (message === false) break;
      seen.push(message);
    }
    await channel.close(); // unacked messages return to the queue
    return seen;
  } finally {
    await connection.close();
  }
}

/** Deletes queues (absent ones are no error), on the machine's broker unless `url` names another. */
export async function deleteQueues(queues: readonly string[], url = amqpUrl): Promise<void> {
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    await channel.close();
  } finally {
    await connection.close();
  }
}
