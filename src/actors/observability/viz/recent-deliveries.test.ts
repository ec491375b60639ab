import test from 'ava';
import { initialDeliveryContext, type DeliveryContext } from '../../../machines/delivery.js';
import { RecentDeliveries, type NewDelivery } from './recent-deliveries.js';

const newDelivery = (deliveryTag: number, batch = 1): NewDelivery => ({
  queue: 'user_queue',
  service: 'card',
  consumer: 'users',
  messageId: undefined,
  deliveryTag,
  redelivered: false,
  batch,
  state: 'receiving',
  at: 1_000,
});

const batchContext = (changes: Partial<DeliveryContext>): DeliveryContext => ({
  ...initialDeliveryContext({ deliveries: [], maxAttempts: 5 }),
  ...changes,
});

test('a record shows what its batch context says at its place in the batch, read when asked', (t) => {
  const recent = new RecentDeliveries();
  const first = recent.add(newDelivery(1, 2), 0);
  const second = recent.add(newDelivery(2, 2), 1);
  const decoded = [
    { key: 'user-a', message: { id: 'user-a', name: 'A' } },
    { key: 'user-b', message: { id: 'user-b', name: 'B' } },
  ];
  const done = batchContext({ decoded, duplicates: [false, true], outcome: 'acked', attempts: 1 });
  recent.moved(first, 'persisting', 1_002, 2);
  recent.moved(second, 'persisting', 1_002, 2);
  recent.finished(first, 1_005, done, 'done');
  recent.finished(second, 1_005, done, 'done');

  const [newest, oldest] = recent.list();
  t.like(newest, { seq: 2, messageId: 'user-b', key: 'user-b', outcome: 'duplicate', ids: { id: 'user-b' } });
  t.like(oldest, { seq: 1, messageId: 'user-a', outcome: 'acked', attempts: 1, finishedAt: 1_005, batch: 2 });
  t.deepEqual(oldest!.path, [
    { state: 'receiving', at: 1_000, ms: 2 },
    { state: 'persisting', at: 1_002 },
  ]);
});

test('only a change makes a record new to a reader, and the same context twice is no change', (t) => {
  const recent = new RecentDeliveries();
  const tracked = recent.add(newDelivery(1), 0);
  const context = batchContext({ attempts: 2, error: 'boom' });
  recent.updated(tracked, context);
  const seen = recent.version;
  recent.updated(tracked, context);
  t.deepEqual(recent.changedSince(seen), []);
  t.is(recent.list()[0], recent.list()[0], 'an unchanged record is not worked out again');

  recent.updated(tracked, batchContext({ attempts: 3, error: 'boom again' }));
  t.like(recent.changedSince(seen), [{ attempts: 3, error: 'boom again' }]);
});

test('a dead letter keeps its reason; a machine that failed says so; only the newest records stay', (t) => {
  const recent = new RecentDeliveries(2);
  const dead = recent.add(newDelivery(1), 0);
  const poison = { kind: 'poison', reason: 'bad json' } as const;
  recent.finished(dead, 2_000, batchContext({ outcome: 'dead-lettered', failure: poison }), 'done');
  const broken = recent.add(newDelivery(2), 0);
  recent.finished(broken, 2_000, batchContext({}), 'error');
  const outcomes = () => recent.list().map((record) => [record.deliveryTag, record.outcome, record.deadLetterReason]);
  t.deepEqual(outcomes(), [
    [2, 'machine error', undefined],
    [1, 'dead-lettered', 'bad json'],
  ]);

  recent.add(newDelivery(3), 0);
  t.deepEqual(outcomes(), [
    [3, undefined, undefined],
    [2, 'machine error', undefined],
  ]);
});
