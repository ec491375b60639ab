import test from 'ava';
import { backoffMs, restartBackoff, retryDelayMs } from './backoff.js';

const policy = { baseMs: 100, maxMs: 5_000 };

test('the delay grows with the attempt number', (t) => {
  const middle = () => 0.5;
  const delays = [1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy, attempt, middle));
  t.deepEqual(delays, [75, 150, 300, 600, 1200]);
});

test('the delay never exceeds the cap, even for huge attempt numbers', (t) => {
  for (const attempt of [7, 20, 1_000, Number.MAX_SAFE_INTEGER]) {
    t.true(retryDelayMs(policy, attempt, () => 1) <= policy.maxMs);
  }
});

test('jitter keeps the delay between half the ceiling and the ceiling', (t) => {
  t.is(
    retryDelayMs(policy, 3, () => 0),
    200,
  );
  t.is(
    retryDelayMs(policy, 3, () => 1),
    400,
  );
});

test('attempt 0 or below is treated as the first attempt', (t) => {
  t.is(
    retryDelayMs(policy, 0, () => 1),
    100,
  );
  t.is(
    retryDelayMs(policy, -3, () => 1),
    100,
  );
});

test('backoff doubles from the base and stops at the cap, for restarts and probes alike', (t) => {
  t.deepEqual(
    [0, 1, 2, 3, 7, 8, 50].map((step) => backoffMs(restartBackoff, step)),
    [250, 500, 1_000, 2_000, 30_000, 30_000, 30_000],
  );
  t.is(backoffMs({ baseMs: 100, maxMs: 5_000 }, -3), 100, 'a negative step is the base');
});
