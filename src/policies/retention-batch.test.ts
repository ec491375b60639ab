import test from 'ava';
import { nextBatchSize, retentionSizing } from './retention-batch.js';

const sizing = retentionSizing(1_000);

test('a batch slower than the target halves the next one, never below the minimum', (t) => {
  t.is(nextBatchSize(sizing, 1_000, 1_000, 400), 500);
  t.is(nextBatchSize(sizing, 500, 12, 300), 250);
  t.is(nextBatchSize(sizing, 15, 15, 10_000), 10);
  t.is(nextBatchSize(sizing, 10, 10, 10_000), 10);
});

test('a full batch well under the target doubles the next one, never above the configured size', (t) => {
  t.is(nextBatchSize(sizing, 250, 250, 20), 500);
  t.is(nextBatchSize(sizing, 800, 800, 20), 1_000);
  t.is(nextBatchSize(sizing, 1_000, 1_000, 20), 1_000);
});

test('a batch that was not full, or full but close to the target, keeps its size', (t) => {
  t.is(nextBatchSize(sizing, 500, 499, 10), 500, 'not full: nothing more to gain');
  t.is(nextBatchSize(sizing, 500, 500, 200), 500, 'full, but over half the target');
  t.is(nextBatchSize(sizing, 500, 0, 250), 500, 'exactly the target is not slow');
});

test('a configured size below the minimum is kept as it is', (t) => {
  const tiny = retentionSizing(3);
  t.is(tiny.minRows, 3);
  t.is(nextBatchSize(tiny, 3, 3, 1), 3);
  t.is(nextBatchSize(tiny, 3, 3, 1_000), 3);
});
