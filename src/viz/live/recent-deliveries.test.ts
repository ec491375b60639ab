import test from 'ava';
import { initialDeliveryContext, type DeliveryContext } from '../../machines/delivery.js';
import { RecentDeliveries, type NewBatch } from './recent-deliveries.js';

/** A batch of the user queue's deliveries with these tags, starting in `receiving` at 1 000. */
const newBatch = (...deliveryTags: number[]): NewBatch => ({
  service: 'card',
  consumer: 'users',
  deliveries: deliveryTags.map((deliveryTag) => ({
    queue: 'user_queue',
    messageId: undefined,
    deliveryTag,
    redelivered: false,
  })),
  state: 'receiving',
  at: 1_000,
});

const batchContext = (changes: Partial<DeliveryContext>): DeliveryContext => ({
  ...initialDeliveryContext({ deliveries: [], maxAttempts: 5 }),
  ...changes,
});

const seqs = (records: readonly { seq: number }[]) => records.map((record) => record.seq);

test('a record shows what its batch context says at its place in the batch, read when asked', (t) => {
  const recent = new RecentDeliveries();
  const batch = recent.add(newBatch(1, 2));
  const decoded = [
    { key: 'user-a', message: { id: 'user-a', name: 'A' } },
    { key: 'user-b', message: { id: 'user-b', name: 'B' } },
  ];
  const done = batchContext({ decoded, duplicates: [false, true], outcome: 'acked', attempts: 1 });
  recent.moved(batch, 'persisting', 1_002, 2);
  recent.finished(batch, 1_005, done, 'done');

  const [newest, oldest] = recent.list();
  t.like(newest, { seq: 2, messageId: 'user-b', key: 'user-b', outcome: 'duplicate', ids: { id: 'user-b' } });
  t.like(oldest, { seq: 1, messageId: 'user-a', outcome: 'acked', attempts: 1, finishedAt: 1_005, batch: 2 });
  t.deepEqual(oldest!.path, [
    { state: 'receiving', at: 1_000, ms: 2 },
    { state: 'persisting', at: 1_002 },
  ]);
});

test('the deliveries of a batch share its path, step by step, and each keeps its own fields', (t) => {
  const recent = new RecentDeliveries();
  const batch = recent.add(newBatch(7, 8, 9), batchContext({}));
  recent.moved(batch, 'persisting', 1_001.5, 1.4999);
  recent.moved(batch, 'acking', 1_004, 2.126);
  const expected = [
    { state: 'receiving', at: 1_000, ms: 1.5 },
    { state: 'persisting', at: 1_001.5, ms: 2.13 },
    { state: 'acking', at: 1_004 },
  ];
  const records = recent.list();
  t.deepEqual(seqs(records), [3, 2, 1]);
  t.deepEqual(
    records.map((record) => record.deliveryTag),
    [9, 8, 7],
  );
  for (const record of records) {
    t.deepEqual(record.path, expected);
    t.like(record, { batch: 3, service: 'card', consumer: 'users', queue: 'user_queue', startedAt: 1_000 });
    t.is(record.version, recent.version, 'the batch changed last');
  }

  recent.moved(batch, 'publishing', 1_006, 2);
  t.deepEqual(records[0]!.path, expected, 'a record read before a step keeps the path it had');
  t.deepEqual(
    recent.list()[2]!.path.map((step) => step.state),
    ['receiving', 'persisting', 'acking', 'publishing'],
  );
});

test('only a change makes a record new to a reader, and the same context twice is no change', (t) => {
  const recent = new RecentDeliveries();
  const batch = recent.add(newBatch(1));
  const context = batchContext({ attempts: 2, error: 'boom' });
  recent.updated(batch, context);
  const seen = recent.version;
  recent.updated(batch, context);
  t.deepEqual(recent.changedSince(seen), []);
  t.is(recent.list()[0], recent.list()[0], 'an unchanged record is not worked out again');

  recent.updated(batch, batchContext({ attempts: 3, error: 'boom again' }));
  t.like(recent.changedSince(seen), [{ attempts: 3, error: 'boom again' }]);
});

test('changedSince follows each batch step: the records of the batches that changed, newest first', (t) => {
  const recent = new RecentDeliveries();
  const first = recent.add(newBatch(1, 2), batchContext({}));
  const second = recent.add(newBatch(3, 4, 5), batchContext({}));
  t.deepEqual(seqs(recent.changedSince(0)), [5, 4, 3, 2, 1]);

  let seen = recent.version;
  recent.moved(first, 'persisting', 1_002, 2);
  const moved = recent.changedSince(seen);
  t.deepEqual(seqs(moved), [2, 1]);
  t.true(moved.every((record) => record.version > seen && record.path.length === 2));
  t.deepEqual(recent.changedSince(recent.version), [], 'nothing changed after the latest version');

  seen = recent.version;
  recent.moved(second, 'persisting', 1_003, 3);
  recent.updated(second, batchContext({ decoded: [{ key: 'k3', message: {} }] }));
  recent.finished(first, 1_004, batchContext({ outcome: 'acked' }), 'done');
  t.deepEqual(seqs(recent.changedSince(seen)), [5, 4, 3, 2, 1]);
  const afterBoth = recent.version;
  recent.moved(second, 'acking', 1_005, 2);
  t.deepEqual(seqs(recent.changedSince(afterBoth)), [5, 4, 3]);
  t.like(recent.changedSince(afterBoth)[2], { seq: 3, key: 'k3' });
});

test('the records of a finished batch: each its own outcome, the batch end time and a closed path', (t) => {
  const recent = new RecentDeliveries();
  const batch = recent.add(newBatch(1, 2, 3), batchContext({}));
  const decoded = ['a', 'b', 'c'].map((id) => ({ key: `user:${id}`, message: { id, user_id: `u-${id}` } }));
  recent.moved(batch, 'persisting', 1_001, 1);
  recent.moved(batch, 'acking', 1_003, 2);
  recent.moved(batch, 'done', 1_004, 1);
  recent.finished(batch, 1_004, batchContext({ decoded, duplicates: [false, true, false], outcome: 'acked' }), 'done');

  const records = recent.list();
  t.deepEqual(
    records.map(({ seq, messageId, outcome, ids }) => ({ seq, messageId, outcome, ids })),
    [
      { seq: 3, messageId: 'user:c', outcome: 'acked', ids: { id: 'c', user_id: 'u-c' } },
      { seq: 2, messageId: 'user:b', outcome: 'duplicate', ids: { id: 'b', user_id: 'u-b' } },
      { seq: 1, messageId: 'user:a', outcome: 'acked', ids: { id: 'a', user_id: 'u-a' } },
    ],
  );
  for (const record of records) {
    t.like(record, { finishedAt: 1_004, batch: 3, attempts: 0, error: undefined });
    t.is(record.path.at(-1)!.ms, undefined, 'no time for the final state');
  }
  t.deepEqual(seqs(recent.search('U-B')), [2]);

  const split = recent.add(newBatch(4, 5));
  const poison = { kind: 'poison', reason: 'bad json' } as const;
  recent.finished(split, 1_010, batchContext({ outcome: 'split', failure: poison, error: 'bad json' }), 'done');
  t.deepEqual(
    recent
      .list()
      .slice(0, 2)
      .map(({ seq, outcome, failureKind, deadLetterReason }) => ({ seq, outcome, failureKind, deadLetterReason })),
    [
      { seq: 5, outcome: 'split', failureKind: 'poison', deadLetterReason: undefined },
      { seq: 4, outcome: 'split', failureKind: 'poison', deadLetterReason: undefined },
    ],
  );
});

test('a dead letter keeps its reason; a machine that failed says so; only the newest records stay', (t) => {
  const recent = new RecentDeliveries(2);
  const dead = recent.add(newBatch(1));
  const poison = { kind: 'poison', reason: 'bad json' } as const;
  recent.finished(dead, 2_000, batchContext({ outcome: 'dead-lettered', failure: poison }), 'done');
  const broken = recent.add(newBatch(2));
  recent.finished(broken, 2_000, batchContext({}), 'error');
  const outcomes = () => recent.list().map((record) => [record.deliveryTag, record.outcome, record.deadLetterReason]);
  t.deepEqual(outcomes(), [
    [2, 'machine error', undefined],
    [1, 'dead-lettered', 'bad json'],
  ]);

  recent.add(newBatch(3));
  t.deepEqual(outcomes(), [
    [3, undefined, undefined],
    [2, 'machine error', undefined],
  ]);
});

test('capacity counts deliveries across batches: a batch partly beyond it shows only its newest', (t) => {
  const recent = new RecentDeliveries(5);
  const first = recent.add(newBatch(1, 2, 3));
  const second = recent.add(newBatch(4, 5, 6, 7));
  t.deepEqual(seqs(recent.list()), [7, 6, 5, 4, 3], 'the first batch is partly beyond capacity');

  const seen = recent.version;
  recent.moved(first, 'persisting', 1_001, 1);
  t.deepEqual(seqs(recent.changedSince(seen)), [3], 'its deliveries beyond capacity are not shown as changed');

  recent.add(newBatch(8, 9));
  t.deepEqual(seqs(recent.list()), [9, 8, 7, 6, 5]);
  recent.moved(first, 'acking', 1_002, 1);
  t.deepEqual(seqs(recent.changedSince(seen)), [9, 8], 'a batch wholly beyond capacity is gone');

  recent.add(newBatch(10, 11, 12, 13, 14, 15, 16));
  recent.moved(second, 'persisting', 1_003, 1);
  t.deepEqual(seqs(recent.list()), [16, 15, 14, 13, 12], 'a batch larger than capacity shows its newest');
  t.deepEqual(seqs(recent.changedSince(seen)), [16, 15, 14, 13, 12]);
});

test('a batch with no capacity to show it is never listed', (t) => {
  const recent = new RecentDeliveries(0);
  const batch = recent.add(newBatch(1, 2));
  recent.moved(batch, 'persisting', 1_001, 1);
  t.deepEqual(recent.list(), []);
  t.deepEqual(recent.changedSince(0), []);
});
