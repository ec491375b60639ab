/**
 * The dead-letter queue as the tool sees it. It is only ever checked (passive declare), never declared:
 * the services own its arguments (durable today, maybe a quorum queue tomorrow), and a declaration with
 * other arguments would fail, or create a queue nobody consumes.
 */
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import { deadLetterQueue } from '../actors/broker/topology.js';

export class NoSuchQueueError extends Error {
  override name = 'NoSuchQueueError';
  constructor(readonly queue: string) {
    super(`no such queue: ${queue}`);
  }
}

export interface DeadLetterQueueState {
  readonly queue: string;
  readonly deadLetterQueue: string;
  /** Ready messages at the time of the check (dead letters held unacknowledged elsewhere are not counted). */
  readonly messageCount: number;
}

async function openChannel(connection: ChannelModel): Promise<Channel> {
  const channel = await connection.createChannel();
  // A failed operation closes the channel and rejects the operation's promise; the event adds nothing.
  channel.on('error', () => {});
  return channel;
}

const isNotFound = (error: unknown) => (error as { code?: unknown }).code === 404;

/** A 404 closes the channel it happens on, so the check gets a channel of its own. */
export async function checkDeadLetterQueue(connection: ChannelModel, queue: string): Promise<DeadLetterQueueState> {
  const name = deadLetterQueue(queue);
  const channel = await openChannel(connection);
  try {
    const { messageCount } = await channel.checkQueue(name);
    return { queue, deadLetterQueue: name, messageCount };
  } catch (error) {
    if (isNotFound(error)) throw new NoSuchQueueError(name);
    throw error;
  } finally {
    await channel.close().catch(() => {});
  }
}

export interface HeldDeadLetter {
  /** 1 for the head of the queue, in the order the broker handed them out. */
  readonly position: number;
  readonly message: GetMessage;
}

/**
 * Dead letters taken one by one without acknowledging them (basic.get, no-ack off), so they are held, not
 * removed. `remove` acknowledges one; `release` returns every other one with a single nack-with-requeue,
 * in delivery order. Classic queues put requeued messages back at their original positions. If the
 * command dies instead, closing the connection returns them the same way.
 */
export class DeadLetterHold {
  readonly #channel: Channel;
  readonly #queue: string;
  #taken = 0;
  #released = false;

  private constructor(channel: Channel, queue: string) {
    this.#channel = channel;
    this.#queue = queue;
  }

  static async open(connection: ChannelModel, deadLetterQueue: string): Promise<DeadLetterHold> {
    return new DeadLetterHold(await openChannel(connection), deadLetterQueue);
  }

  async take(): Promise<HeldDeadLetter | undefined> {
    const message = await this.#channel.get(this.#queue, { noAck: false });
    if (message === false) return undefined;
    this.#taken += 1;
    return { position: this.#taken, message };
  }

  /** Up to `max` more dead letters, or all that are left. */
  async takeAll(max = Number.POSITIVE_INFINITY): Promise<HeldDeadLetter[]> {
    const held: HeldDeadLetter[] = [];
    while (held.length < max) {
      const next = await this.take();
      if (next === undefined) break;
      held.push(next);
    }
    return held;
  }

  remove(letter: HeldDeadLetter): void {
    this.#channel.ack(letter.message);
  }

  /** Returns what is still held, and closes the channel (which waits for the broker to take the acks and nack). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      if (this.#taken > 0) this.#channel.nackAll(true);
    } catch {
      // The channel is closed already, and closing it returned them.
    }
    await this.#channel.close().catch(() => {});
  }
}

/** Deletes the ready dead letters (held ones are not affected); resolves with how many. */
export async function purgeDeadLetterQueue(
  connection: ChannelModel,
  queue: string,
): Promise<{ deadLetterQueue: string; purged: number }> {
  const { deadLetterQueue: name } = await checkDeadLetterQueue(connection, queue);
  const channel = await openChannel(connection);
  try {
    const { messageCount } = await channel.purgeQueue(name);
    return { deadLetterQueue: name, purged: messageCount };
  } finally {
    await channel.close().catch(() => {});
  }
}
