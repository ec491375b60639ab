/**
 * The messages a consumer nacked for an immediate retry after their handler threw, per channel. When one
 * comes back (`redelivered`), it is known to have failed by an exception, not by crashing the process, so
 * it may join a batch (where a failure of its own sets it aside, `failed-in-batch.ts`); any other
 * redelivery runs alone, since it may be a message that brought the process down.
 */
import { createHash } from 'node:crypto';
import type { Channel, Message } from 'amqplib';

/** Beyond this many waiting on a channel, the oldest are forgotten: they come back to run alone, as before. */
export const maxRetriedPerChannel = 10_000;

function identityOf(message: Message): string {
  const digest = createHash('sha1').update(message.content).digest('base64');
  return `${message.properties.messageId ?? ''} ${digest}`;
}

export class RetriedMessages {
  readonly #byChannel = new WeakMap<Channel, Map<string, number>>();

  /** Notes that `message` is being nacked on `channel` for a retry. */
  add(channel: Channel, message: Message): void {
    let waiting = this.#byChannel.get(channel);
    if (waiting === undefined) {
      waiting = new Map();
      this.#byChannel.set(channel, waiting);
    }
    const identity = identityOf(message);
    waiting.set(identity, (waiting.get(identity) ?? 0) + 1);
    if (waiting.size > maxRetriedPerChannel) waiting.delete(waiting.keys().next().value!);
  }

  /** True (once per `add`) when `message`, redelivered on `channel`, is one nacked there for a retry. */
  take(channel: Channel, message: Message): boolean {
    const waiting = this.#byChannel.get(channel);
    const identity = identityOf(message);
    const count = waiting?.get(identity);
    if (waiting === undefined || count === undefined) return false;
    if (count > 1) waiting.set(identity, count - 1);
    else waiting.delete(identity);
    return true;
  }
}
