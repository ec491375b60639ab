/**
 * Acks and nacks, each on the channel its delivery came on, or not at all: after the channel is lost, its
 * deliveries are left for the broker to redeliver (the inbox absorbs any repeat), acks held for it included.
 * A finished batch's acks are held until the deliveries before it are settled, then sent with whatever else
 * was held in one frame (`policies/unsettled-tags.ts`). Held acks count against the prefetch window and a
 * delivery may stay unsettled for long (a retry's wait), so they are held for at most `maxHoldMs` and while
 * they are at most half the prefetch; past either bound they are acked one by one. The messages nacked for a
 * retry are remembered, so that they may join a batch when they come back (`retried-messages.ts`).
 */
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import type { Delivery } from '../../machines/delivery.js';
import { UnsettledTags } from '../../policies/unsettled-tags.js';
import { toDelivery } from './decode.js';
import { RetriedMessages } from './retried-messages.js';

const tagOf = (message: Message) => message.fields.deliveryTag;

/**
 * The longest a finished delivery's ack is held for the deliveries before it: longer than a batch's
 * transaction under load (tens of milliseconds), short beside a retry's wait (up to 30 s).
 */
export const maxHoldMs = 250;

/** Starts a wait of `ms` that calls `fire` at its end; returns what cancels it. */
export type Schedule = (ms: number, fire: () => void) => () => void;

const unrefTimeout: Schedule = (ms, fire) => {
  const timer = setTimeout(fire, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/** A channel's unsettled deliveries, and the wait after which its held acks go out one by one. */
interface ChannelAcks {
  readonly tags: UnsettledTags<Message>;
  cancelHold: (() => void) | undefined;
}

export class Settlement {
  /** The channel each delivery came on. */
  readonly #origins = new WeakMap<Delivery, { channel: Channel; message: Message }>();
  /** Each channel's deliveries not settled yet. */
  readonly #channels = new WeakMap<Channel, ChannelAcks>();
  readonly #retried = new RetriedMessages();
  readonly #current: () => Channel | undefined;
  readonly #beforeAck: () => void;
  readonly #maxHeld: number;
  readonly #schedule: Schedule;

  /**
   * `current`: the subscription's channel now; `beforeAck`: the failpoint hit before each ack frame;
   * `prefetch`: the consumer's, of which at most half is held; `schedule`: the hold's wait (tests pass theirs).
   */
  constructor(current: () => Channel | undefined, beforeAck: () => void, prefetch: number, schedule = unrefTimeout) {
    this.#current = current;
    this.#beforeAck = beforeAck;
    this.#maxHeld = Math.ceil(prefetch / 2);
    this.#schedule = schedule;
  }

  /**
   * A message arrived on `channel`: its delivery, to be settled there. `batchable` is false for a
   * redelivery this consumer did not ask for: it may have brought a process down, and runs alone.
   */
  arrived(queue: string, channel: Channel, message: ConsumeMessage): { delivery: Delivery; batchable: boolean } {
    this.#acksOn(channel).tags.delivered(tagOf(message), message);
    const delivery = toDelivery(queue, message);
    this.#origins.set(delivery, { channel, message });
    return { delivery, batchable: !message.fields.redelivered || this.#retried.take(channel, message) };
  }

  /**
   * Acks `deliveries`, finished: at once, with every held ack, in one frame when nothing before them is
   * unsettled; otherwise held until the deliveries before them are, within the bounds above.
   */
  ack(deliveries: readonly Delivery[]): void {
    const channel = this.#current();
    if (channel === undefined) return;
    const acks = this.#acksOn(channel);
    acks.tags.hold(this.#messagesOn(channel, deliveries).map(tagOf));
    this.#sendReleased(channel, acks);
  }

  /** The channel `delivery` came on, where it is to be settled. */
  channelOf(delivery: Delivery): Channel | undefined {
    return this.#origins.get(delivery)?.channel;
  }

  /** Nacks `deliveries` for redelivery; `retry`: their handler threw, and they may join a batch when back. */
  nack(deliveries: readonly Delivery[], retry: boolean): void {
    const channel = this.#current();
    if (channel === undefined) return;
    const acks = this.#acksOn(channel);
    for (const message of this.#messagesOn(channel, deliveries)) {
      if (retry) this.#retried.add(channel, message);
      acks.tags.settled(tagOf(message));
      this.#send(channel, message, 'nack');
    }
    this.#sendReleased(channel, acks); // after the nacks, which a multiple ack must not take
  }

  /** Acks what is held on the current channel one by one, before it closes: at shutdown. */
  flush(): void {
    const channel = this.#current();
    if (channel !== undefined) this.#ackHeldAlone(channel, this.#acksOn(channel));
  }

  /** The messages of `deliveries` that came on `channel`; the others' channel was lost. */
  #messagesOn(channel: Channel, deliveries: readonly Delivery[]): Message[] {
    const messages: Message[] = [];
    for (const delivery of deliveries) {
      const origin = this.#origins.get(delivery);
      if (origin?.channel === channel) messages.push(origin.message);
    }
    return messages;
  }

  /** Sends what the held acks allow now, or bounds how long and how many stay held. */
  #sendReleased(channel: Channel, acks: ChannelAcks): void {
    const released = acks.tags.release();
    if (released.length > 0) this.#send(channel, released.at(-1)!, 'ack', released.length > 1);
    if (acks.tags.held > this.#maxHeld) this.#ackHeldAlone(channel, acks);
    else if (acks.tags.held === 0) this.#stopHold(acks);
    else acks.cancelHold ??= this.#schedule(maxHoldMs, () => this.#holdEnded(channel, acks));
  }

  #holdEnded(channel: Channel, acks: ChannelAcks): void {
    acks.cancelHold = undefined;
    // A channel lost meanwhile: its held acks are dropped, and the broker redelivers their messages.
    if (this.#current() === channel) this.#ackHeldAlone(channel, acks);
  }

  #ackHeldAlone(channel: Channel, acks: ChannelAcks): void {
    this.#stopHold(acks);
    for (const message of acks.tags.takeHeld()) this.#send(channel, message, 'ack');
  }

  #stopHold(acks: ChannelAcks): void {
    acks.cancelHold?.();
    acks.cancelHold = undefined;
  }

  /** Acks or nacks `message`; `multiple`: acks every unacked delivery of the channel up to it. */
  #send(channel: Channel, message: Message, how: 'ack' | 'nack', multiple = false): void {
    try {
      if (how === 'ack') {
        this.#beforeAck();
        channel.ack(message, multiple);
      } else {
        channel.nack(message, false, true);
      }
    } catch {
      // The channel closed under us: the broker redelivers the message.
    }
  }

  #acksOn(channel: Channel): ChannelAcks {
    let acks = this.#channels.get(channel);
    if (acks === undefined) {
      acks = { tags: new UnsettledTags<Message>(), cancelHold: undefined };
      this.#channels.set(channel, acks);
    }
    return acks;
  }
}
