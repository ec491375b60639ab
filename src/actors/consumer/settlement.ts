/**
 * Acks and nacks, each on the channel its delivery came on, or not at all: after the channel is lost, its
 * deliveries are left for the broker to redeliver (the inbox absorbs any repeat). A batch whose deliveries
 * are the lowest its channel has not settled is acked in one frame (`policies/unsettled-tags.ts`). The
 * messages nacked for a retry are remembered, so that they may join a batch when they come back
 * (`retried-messages.ts`).
 */
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import type { Delivery } from '../../machines/delivery.js';
import { UnsettledTags } from '../../policies/unsettled-tags.js';
import { toDelivery } from './decode.js';
import { RetriedMessages } from './retried-messages.js';

const tagOf = (message: Message) => message.fields.deliveryTag;

export class Settlement {
  /** The channel each delivery came on. */
  readonly #origins = new WeakMap<Delivery, { channel: Channel; message: Message }>();
  /** Each channel's deliveries not settled yet. */
  readonly #unsettled = new WeakMap<Channel, UnsettledTags>();
  readonly #retried = new RetriedMessages();
  readonly #current: () => Channel | undefined;
  readonly #beforeAck: () => void;

  /** `current`: the subscription's channel now; `beforeAck`: the failpoint hit before each ack. */
  constructor(current: () => Channel | undefined, beforeAck: () => void) {
    this.#current = current;
    this.#beforeAck = beforeAck;
  }

  /**
   * A message arrived on `channel`: its delivery, to be settled there. `batchable` is false for a
   * redelivery this consumer did not ask for: it may have brought a process down, and runs alone.
   */
  arrived(queue: string, channel: Channel, message: ConsumeMessage): { delivery: Delivery; batchable: boolean } {
    this.#unsettledOn(channel).delivered(tagOf(message));
    const delivery = toDelivery(queue, message);
    this.#origins.set(delivery, { channel, message });
    return { delivery, batchable: !message.fields.redelivered || this.#retried.take(channel, message) };
  }

  /**
   * Acks `deliveries`: in one frame (`multiple` up to the highest tag) when they are the lowest their
   * channel has not settled, so that the frame acks nothing else; otherwise one by one.
   */
  ack(deliveries: readonly Delivery[]): void {
    const channel = this.#current();
    const messages = deliveries.length > 1 && channel ? this.#messagesOn(channel, deliveries) : undefined;
    if (channel === undefined || messages === undefined || !this.#unsettledOn(channel).areLowest(messages.map(tagOf))) {
      for (const delivery of deliveries) this.#settleOne(delivery, 'ack');
      return;
    }
    const highest = messages.reduce((top, message) => (tagOf(message) > tagOf(top) ? message : top));
    this.#settle(channel, highest, 'ack', messages);
  }

  /** The channel `delivery` came on, where it is to be settled. */
  channelOf(delivery: Delivery): Channel | undefined {
    return this.#origins.get(delivery)?.channel;
  }

  /** Nacks `deliveries` for redelivery; `retry`: their handler threw, and they may join a batch when back. */
  nack(deliveries: readonly Delivery[], retry: boolean): void {
    for (const delivery of deliveries) {
      const origin = this.#origins.get(delivery);
      if (retry && origin && origin.channel === this.#current()) this.#retried.add(origin.channel, origin.message);
      this.#settleOne(delivery, 'nack');
    }
  }

  /** The messages of `deliveries`, when every one of them came on `channel`. */
  #messagesOn(channel: Channel, deliveries: readonly Delivery[]): Message[] | undefined {
    const messages: Message[] = [];
    for (const delivery of deliveries) {
      const origin = this.#origins.get(delivery);
      if (origin === undefined || origin.channel !== channel) return undefined;
      messages.push(origin.message);
    }
    return messages;
  }

  #settleOne(delivery: Delivery, how: 'ack' | 'nack'): void {
    const origin = this.#origins.get(delivery);
    if (origin) this.#settle(origin.channel, origin.message, how);
  }

  /** Acks or nacks `message`; with `upTo`, acks it with `multiple`: every message of `upTo` (itself among them). */
  #settle(channel: Channel, message: Message, how: 'ack' | 'nack', upTo?: readonly Message[]): void {
    if (this.#current() !== channel) return; // stale channel: the broker redelivers this one
    try {
      if (how === 'ack') {
        this.#beforeAck();
        channel.ack(message, upTo !== undefined);
      } else {
        channel.nack(message, false, true);
      }
    } catch {
      return; // The channel closed under us: the broker redelivers the message.
    }
    const unsettled = this.#unsettledOn(channel);
    for (const settled of upTo ?? [message]) unsettled.settled(tagOf(settled));
  }

  #unsettledOn(channel: Channel): UnsettledTags {
    let tags = this.#unsettled.get(channel);
    if (tags === undefined) {
      tags = new UnsettledTags();
      this.#unsettled.set(channel, tags);
    }
    return tags;
  }
}
