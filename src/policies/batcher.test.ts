import test from 'ava';
import { Batcher } from './batcher.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A batcher whose batches run until released by hand. */
function manual(options: { maxBatch: number; concurrency: number; admit?: (item: number) => boolean }) {
  const started: number[][] = [];
  const releases: (() => void)[] = [];
  const batcher = new Batcher<number>((items) => {
    started.push(items);
    return new Promise<void>((resolve) => releases.push(resolve));
  }, options);
  return { batcher, started, releases };
}

test('items added in one turn start together at once while a place is free', async (t) => {
  const { batcher, started } = manual({ maxBatch: 10, concurrency: 1 });
  [1, 2, 3].forEach((item) => batcher.add(item));
  await nextTurn();
  t.deepEqual(started, [[1, 2, 3]]);
});

test('items that arrive while every place is taken wait, and a freed place takes up to maxBatch of them', async (t) => {
  const { batcher, started, releases } = manual({ maxBatch: 2, concurrency: 2 });
  batcher.add(1);
  await nextTurn();
  batcher.add(2);
  await nextTurn();
  [3, 4, 5].forEach((item) => batcher.add(item));
  await nextTurn();
  t.deepEqual(started, [[1], [2]], 'both places are taken: 3, 4 and 5 wait');
  releases[0]!();
  await nextTurn();
  await nextTurn();
  t.deepEqual(started, [[1], [2], [3, 4]]);
  releases[1]!();
  await nextTurn();
  await nextTurn();
  t.deepEqual(started, [[1], [2], [3, 4], [5]]);
});

test('an item that fails admit when its batch forms is dropped; clear forgets every waiting item', async (t) => {
  const dropped = new Set([2, 4]);
  const { batcher, started, releases } = manual({ maxBatch: 10, concurrency: 1, admit: (item) => !dropped.has(item) });
  batcher.add(1);
  await nextTurn();
  [2, 3, 4].forEach((item) => batcher.add(item));
  releases[0]!();
  await nextTurn();
  await nextTurn();
  t.deepEqual(started, [[1], [3]]);
  batcher.add(5);
  batcher.clear();
  releases[1]!();
  await nextTurn();
  await nextTurn();
  t.deepEqual(started, [[1], [3]]);
});

test('a batch that throws or rejects gives its place back', async (t) => {
  const started: number[][] = [];
  const batcher = new Batcher<number>(
    (items) => {
      started.push(items);
      if (items[0] === 1) throw new Error('thrown');
      return Promise.reject(new Error('rejected'));
    },
    { maxBatch: 1, concurrency: 1 },
  );
  [1, 2, 3].forEach((item) => batcher.add(item));
  for (let turn = 0; turn < 6; turn += 1) await nextTurn();
  t.deepEqual(started, [[1], [2], [3]]);
});

test('maxBatch 1 turns batching off: every item starts at once, alone, whatever the concurrency', (t) => {
  const { batcher, started } = manual({ maxBatch: 1, concurrency: 1 });
  [1, 2, 3].forEach((item) => batcher.add(item));
  t.deepEqual(started, [[1], [2], [3]], 'started within add, none waiting for a place');
});
