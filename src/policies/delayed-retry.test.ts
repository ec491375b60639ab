import test from 'ava';
import {
  attemptReasonsHeader,
  attemptReasonsOf,
  delayedRetryMs,
  delayLevels,
  delayQueueName,
  longestRetryMs,
  maxAttemptReasons,
  maxReasonLength,
  withReason,
} from './delayed-retry.js';

const levels = { immediateRetries: 2, delayedRetriesMs: [10_000, 60_000, 300_000] };

test('attempts up to immediateRetries are retried in process; later ones wait in growing delay levels up to the last', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 5, 6, 9].map((attempts) => delayedRetryMs(levels, attempts)),
    [undefined, undefined, 10_000, 60_000, 300_000, 300_000, 300_000],
  );
});

test('no delay levels keep every retry in process; zero immediate retries delay the first', (t) => {
  t.is(delayedRetryMs({ immediateRetries: 0, delayedRetriesMs: [] }, 4), undefined);
  t.is(delayedRetryMs({ immediateRetries: 0, delayedRetriesMs: [5_000] }, 1), 5_000);
});

test('one delay queue per distinct level an attempt reaches, named by its seconds', (t) => {
  t.deepEqual(
    delayLevels({ immediateRetries: 1, delayedRetriesMs: [1_000, 2_000, 2_000], maxAttempts: 9 }),
    [1_000, 2_000],
  );
  t.deepEqual(delayLevels({ ...levels, maxAttempts: 4 }), [10_000], 'attempt 3 is delayed, attempt 4 dead-lettered');
  t.deepEqual(delayLevels({ ...levels, maxAttempts: 3 }), [], 'no attempt is delayed');
  t.deepEqual(
    delayLevels({ immediateRetries: 0, delayedRetriesMs: [10_000, 5_000, 10_000, 20_000], maxAttempts: 99 }),
    [10_000, 5_000, 20_000],
  );
  t.is(delayQueueName('user_queue', 10_000), 'user_queue.retry.10s');
});

test('reasons are bounded in number and length, and only strings are read back', (t) => {
  let reasons: string[] = [];
  for (let attempt = 1; attempt <= maxAttemptReasons + 5; attempt += 1) reasons = withReason(reasons, `r${attempt}`);
  t.is(reasons.length, maxAttemptReasons);
  t.is(reasons.at(-1), `r${maxAttemptReasons + 5}`);
  t.is(withReason([], 'x'.repeat(5_000))[0]!.length, maxReasonLength + 1);
  t.deepEqual(attemptReasonsOf({ [attemptReasonsHeader]: ['a', 3, null, 'b'] }), ['a', 'b']);
  t.deepEqual(attemptReasonsOf({ [attemptReasonsHeader]: 'not a list' }), []);
});

test('the longest retry adds every immediate wait at its cap and every delayed wait', (t) => {
  const retry = { maxMs: 30_000 };
  t.is(
    longestRetryMs({ maxAttempts: 5, immediateRetries: 3, delayedRetriesMs: [10_000, 60_000], retry }),
    3 * 30_000 + 10_000,
  );
  t.is(
    longestRetryMs({ maxAttempts: 7, immediateRetries: 1, delayedRetriesMs: [10_000, 60_000], retry }),
    30_000 + 10_000 + 60_000 * 4,
  );
  t.is(longestRetryMs({ maxAttempts: 1, immediateRetries: 3, delayedRetriesMs: [], retry }), 0);
});
