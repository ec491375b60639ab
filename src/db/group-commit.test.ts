import test from 'ava';
import { GroupCommit } from './group-commit.js';

function recorder(fail: (items: readonly number[]) => boolean = () => false) {
  const batches: number[][] = [];
  const run = async (items: readonly number[]) => {
    batches.push([...items]);
    await new Promise((resolve) => setImmediate(resolve));
    if (fail(items)) throw new Error(`batch ${items.join(',')} failed`);
    return items.map((item) => item * 10);
  };
  return { batches, run };
}

test('items submitted together run as one batch, each gets its own result', async (t) => {
  const { batches, run } = recorder();
  const group = new GroupCommit(run, { maxBatch: 10, concurrency: 1 });
  const results = await Promise.all([1, 2, 3].map((item) => group.submit(item)));
  t.deepEqual(results, [10, 20, 30]);
  t.deepEqual(batches, [[1, 2, 3]]);
});

test('items arriving while every place is taken wait, and the next batch takes them together, up to maxBatch', async (t) => {
  const { batches, run } = recorder();
  const group = new GroupCommit(run, { maxBatch: 2, concurrency: 1 });
  const first = group.submit(1);
  await new Promise((resolve) => setImmediate(resolve)); // the first batch has started, alone
  const later = [2, 3, 4, 5].map((item) => group.submit(item));
  t.deepEqual(await Promise.all([first, ...later]), [10, 20, 30, 40, 50]);
  t.deepEqual(batches, [[1], [2, 3], [4, 5]]);
});

test('a failed batch is split: each item runs alone, and only the failing one is rejected', async (t) => {
  const { batches, run } = recorder((items) => items.includes(2));
  const group = new GroupCommit(run, { maxBatch: 10, concurrency: 2 });
  const outcomes = await Promise.allSettled([1, 2, 3].map((item) => group.submit(item)));
  t.deepEqual(
    outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message)),
    [10, 'batch 2 failed', 30],
  );
  t.deepEqual(batches[0], [1, 2, 3]);
  t.deepEqual(batches.slice(1).sort(), [[1], [2], [3]]);
});

test('a run that returns the wrong number of results is a failure, never a result given to the wrong item', async (t) => {
  const group = new GroupCommit(async () => [], { maxBatch: 10, concurrency: 1 });
  const outcomes = await Promise.allSettled([group.submit('a'), group.submit('b')]);
  t.deepEqual(
    outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as Error).message : 'fulfilled')),
    ['group commit: 0 results for 1 items', 'group commit: 0 results for 1 items'],
  );
});

test('a failure the split option declines fails the whole batch at once, with no item tried again', async (t) => {
  let calls = 0;
  const outage = Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
  const group = new GroupCommit(
    async () => {
      calls += 1;
      throw outage;
    },
    { maxBatch: 10, concurrency: 1, split: (error) => (error as { code?: string }).code !== 'ECONNREFUSED' },
  );
  const outcomes = await Promise.allSettled([1, 2, 3].map((item) => group.submit(item)));
  t.deepEqual(
    outcomes.map((outcome) => outcome.status === 'rejected' && outcome.reason === outage),
    [true, true, true],
  );
  t.is(calls, 1);
});
