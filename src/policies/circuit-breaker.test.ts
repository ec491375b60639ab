import test from 'ava';
import {
  defaultBreakerThresholds,
  FailureWindow,
  firstProbeDelayMs,
  recordedAttempts,
  shouldTrip,
  tripOf,
  type DeliveryResult,
} from './circuit-breaker.js';

const ok: DeliveryResult = { failed: false };
const failed = (key: string, attemptRecorded = true): DeliveryResult => ({
  failed: true,
  key,
  attemptRecorded,
  timedOut: false,
});
const timedOut = (key: string): DeliveryResult => ({ failed: true, key, attemptRecorded: true, timedOut: true });

test('failures of several messages, most of the window, trip the breaker', (t) => {
  t.true(shouldTrip([failed('a'), failed('b'), failed('c'), failed('d'), failed('e')], defaultBreakerThresholds));
  t.true(
    shouldTrip([ok, ok, failed('a'), failed('b'), failed('c'), failed('a'), failed('b')], defaultBreakerThresholds),
  );
});

test('one message failing again and again never trips it: that is the message, not an outage', (t) => {
  const results = Array.from({ length: 20 }, () => failed('a'));
  t.false(shouldTrip(results, defaultBreakerThresholds));
  t.false(shouldTrip([...results, failed('b')], defaultBreakerThresholds), 'two messages are not enough either');
});

test('too few failures, or too small a share of the window, do not trip it', (t) => {
  t.false(shouldTrip([failed('a'), failed('b'), failed('c'), failed('d')], defaultBreakerThresholds));
  const mostlyFine = [
    ...Array.from({ length: 8 }, () => ok),
    ...['a', 'b', 'c', 'd', 'e', 'f'].flatMap((key) => [failed(key), ok]),
  ];
  t.false(shouldTrip(mostlyFine, defaultBreakerThresholds), '6 of 20, none in a row, is under half');
});

test('the latest failures in a row, of several messages, trip it however many successes came before', (t) => {
  const fine = Array.from({ length: 15 }, () => ok);
  t.true(
    shouldTrip([...fine, failed('a'), failed('b'), failed('c'), failed('a'), failed('b')], defaultBreakerThresholds),
  );
  t.false(shouldTrip([...fine, failed('a'), failed('b'), failed('c'), failed('a')], defaultBreakerThresholds), 'four');
  t.false(
    shouldTrip([...fine, failed('a'), failed('b'), failed('a'), failed('b'), failed('a')], defaultBreakerThresholds),
  );
  t.false(
    shouldTrip(
      [...fine.slice(5), failed('a'), failed('b'), ok, failed('c'), failed('d'), failed('e')],
      defaultBreakerThresholds,
    ),
    'a success breaks the streak',
  );
});

test('only the last `window` results count', (t) => {
  const old = ['a', 'b', 'c', 'd', 'e'].map((key) => failed(key));
  const window = new FailureWindow({ ...defaultBreakerThresholds, window: 10 });
  for (const result of old) window.record(result);
  for (let index = 0; index < 9; index += 1) t.is(window.record(ok), undefined);
  t.is(window.record(failed('f')), undefined, 'the old failures have left the window');
});

test('the window trips on the failure that crosses the thresholds, and gives back the attempts it recorded', (t) => {
  const window = new FailureWindow();
  t.is(window.record(failed('a')), undefined);
  t.is(window.record(failed('b', false)), undefined);
  t.is(window.record(ok), undefined);
  t.is(window.record(failed('a')), undefined);
  t.is(window.record(failed('c')), undefined);
  t.is(window.record(failed('d')), 'failures', 'errors of several messages: for the write probe to tell');
  t.deepEqual(
    [...window.take()],
    [
      ['a', 2],
      ['c', 1],
      ['d', 1],
    ],
  );
  t.deepEqual([...window.take()], [], 'taken once');
});

test('recordedAttempts counts only failures that recorded an attempt', (t) => {
  t.deepEqual([...recordedAttempts([ok, failed('x', false), failed('y'), failed('y')])], [['y', 2]]);
});

test('a window tripped mostly by timeouts is an outage; by other errors, a suspicion', (t) => {
  t.is(tripOf([timedOut('a'), timedOut('b'), failed('c'), timedOut('d')]), 'timeouts');
  t.is(tripOf([timedOut('a'), failed('b')]), 'timeouts', 'half of the failures are enough');
  t.is(tripOf([ok, timedOut('a'), failed('b'), failed('c')]), 'failures');
  const window = new FailureWindow();
  for (const key of ['a', 'b', 'c', 'd']) t.is(window.record(timedOut(key)), undefined);
  t.is(window.record(timedOut('e')), 'timeouts');
});

test('the first probe of an opening waits longer after every failed trial, up to 30 s', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map(firstProbeDelayMs),
    [200, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
  );
});
