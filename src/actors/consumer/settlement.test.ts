import test from 'ava';
import type { Channel, ConsumeMessage } from 'amqplib';
import { maxHoldMs, Settlement } from './settlement.js';

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

/** A hold's wait that ends when the test says so. */
function manualSchedule() {
  const waits: { ms: number; fire: () => void; over: boolean }[] = [];
  const schedule = (ms: number, fire: () => void) => {
    const wait = { ms, fire: () => ((wait.over = true), fire()), over: false };
    waits.push(wait);
    return () => (wait.over = true);
  };
  /** The waits neither ended nor cancelled. */
  const pending = () => waits.filter((wait) => !wait.over);
  return { schedule, pending };
}

function settlementOn(prefetch = 50) {
  const { channel, calls } = recordingChannel();
  const { schedule, pending } = manualSchedule();
  let current: Channel | undefined = channel;
  const settlement = new Settlement(
    () => current,
    () => {},
    prefetch,
    schedule,
  );
  const arrive = (tag: number, body?: string, redelivered?: boolean) =>
    settlement.arrived('q', channel, message(tag, body, redelivered));
  const arriveAll = (count: number) => Array.from({ length: count }, (_, index) => arrive(index + 1).delivery);
  return { settlement, calls, arrive, arriveAll, pending, lose: () => (current = undefined) };
}

test('a batch holding the lowest unsettled deliveries is acked in one frame', (t) => {
  const { settlement, calls, arriveAll, pending } = settlementOn();
  const [one, two, three] = arriveAll(3);

  settlement.ack([one!, two!]);
  settlement.ack([three!]);

  t.deepEqual(calls, ['ack 2+', 'ack 3']);
  t.is(pending().length, 0, 'nothing held, nothing waited for');
});

test('a batch finished before an earlier one is held, then acked with it in one frame', (t) => {
  const { settlement, calls, arriveAll, pending } = settlementOn();
  const [one, two, three, four] = arriveAll(4);

  settlement.ack([three!, four!]);
  t.deepEqual(calls, [], 'held: a multiple ack would take 1 and 2');
  t.is(pending()[0]?.ms, maxHoldMs);
  settlement.ack([one!, two!]);

  t.deepEqual(calls, ['ack 4+']);
  t.is(pending().length, 0, 'the wait is cancelled');
});

test('the nack of the delivery that held them back lets the held acks go, after it', (t) => {
  const { settlement, calls, arriveAll } = settlementOn();
  const [one, two, three] = arriveAll(3);

  settlement.ack([two!, three!]);
  settlement.nack([one!], true);

  t.deepEqual(calls, ['nack 1', 'ack 3+']);
});

test('acks held for the longest hold go out one by one; later ones are acked on their own', (t) => {
  const { settlement, calls, arriveAll, pending } = settlementOn();
  const [one, two, three, four] = arriveAll(4);
  settlement.ack([two!, three!]);

  pending()[0]!.fire(); // 1 is waiting for a retry, say
  t.deepEqual(calls, ['ack 2', 'ack 3']);
  settlement.ack([four!]);
  t.is(pending().length, 1, 'a new hold behind 1');
  settlement.ack([one!]);
  t.deepEqual(calls, ['ack 2', 'ack 3', 'ack 4+'], 'no ack twice: 2 and 3 are no longer unacked');
});

test('more held acks than half the prefetch go out one by one at once', (t) => {
  const { settlement, calls, arriveAll, pending } = settlementOn(4);
  const [one, two, three, four] = arriveAll(4);

  settlement.ack([two!, three!]);
  t.deepEqual(calls, [], 'two of a prefetch of 4 may wait');
  settlement.ack([four!]);

  t.deepEqual(calls, ['ack 2', 'ack 3', 'ack 4']);
  t.is(pending().length, 0);
  settlement.ack([one!]);
  t.is(calls.at(-1), 'ack 1');
});

test('held acks are flushed one by one at shutdown, before the channel closes', (t) => {
  const { settlement, calls, arriveAll, pending } = settlementOn();
  const [, two, three] = arriveAll(3);
  settlement.ack([two!, three!]);

  settlement.flush();

  t.deepEqual(calls, ['ack 2', 'ack 3']);
  t.is(pending().length, 0);
});

test('held acks of a channel that was lost are dropped: the broker redelivers', (t) => {
  const { settlement, calls, arriveAll, pending, lose } = settlementOn();
  const [, two] = arriveAll(2);
  settlement.ack([two!]);
  lose();

  pending()[0]!.fire();
  settlement.flush();

  t.deepEqual(calls, []);
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
