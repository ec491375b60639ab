import test from 'ava';
import type { Channel, ConsumeMessage } from 'amqplib';
import { Settlement } from './settlement.js';

/** A channel that records what it was told; acks and nacks on the wire are the broker tests' business. */
function recordingChannel() {
  const calls: string[] = [];
  const channel = {
    ack: (message: ConsumeMessage, multiple: boolean) =>
      calls.push(`ack ${message.fields.deliveryTag}${multiple ? '+' : ''}`),
    nack: (message: ConsumeMessage) => calls.push(`nack ${message.fields.deliveryTag}`),
  } as unknown as Channel;
  return { channel, calls };
}

const message = (deliveryTag: number, body = `m-${deliveryTag}`, redelivered = false) =>
  ({
    content: Buffer.from(body),
    fields: { deliveryTag, redelivered, consumerTag: 'c', exchange: '', routingKey: 'q' },
    properties: { headers: {} },
  }) as unknown as ConsumeMessage;

function settlementOn() {
  const { channel, calls } = recordingChannel();
  let current: Channel | undefined = channel;
  const settlement = new Settlement(
    () => current,
    () => {},
  );
  const arrive = (tag: number, body?: string, redelivered?: boolean) =>
    settlement.arrived('q', channel, message(tag, body, redelivered));
  return { settlement, calls, arrive, lose: () => (current = undefined) };
}

test('a batch holding the lowest unsettled deliveries is acked in one frame; another one by one', (t) => {
  const { settlement, calls, arrive } = settlementOn();
  const [one, two, three, four] = [1, 2, 3, 4].map((tag) => arrive(tag).delivery);

  settlement.ack([three!, four!]);
  settlement.ack([one!, two!]);

  t.deepEqual(calls, ['ack 3', 'ack 4', 'ack 2+']);
});

test('nothing is settled on a channel that was lost: the broker redelivers', (t) => {
  const { settlement, calls, arrive, lose } = settlementOn();
  const { delivery } = arrive(1);
  lose();

  settlement.ack([delivery]);
  settlement.nack([delivery], true);

  t.deepEqual(calls, []);
});

test('a redelivery runs alone unless it is a message nacked here for a retry', (t) => {
  const { settlement, calls, arrive } = settlementOn();
  t.true(arrive(1, 'first').batchable);
  const failed = arrive(2, 'failing').delivery;
  settlement.nack([failed], true);

  t.true(arrive(3, 'failing', true).batchable, 'the retry comes back');
  t.false(arrive(4, 'failing', true).batchable, 'once');
  t.false(arrive(5, 'crashed', true).batchable, 'a redelivery nobody here asked for');
  t.deepEqual(calls, ['nack 2']);
});
