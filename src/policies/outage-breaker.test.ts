import test from 'ava';
import type { ClassifiedFailure } from './classify-error.js';
import { healthyVerdictHoldMs } from './circuit-breaker.js';
import { OutageBreaker, type FinishedDelivery } from './outage-breaker.js';

const bug: ClassifiedFailure = { kind: 'transient', reason: 'no price' };
const timeout: ClassifiedFailure = { kind: 'transient', reason: 'statement timeout', timedOut: true };
const down: ClassifiedFailure = { kind: 'unavailable', reason: 'connection refused' };
const poison: ClassifiedFailure = { kind: 'poison', reason: 'body is not JSON' };

const failed = (key: string, failure: ClassifiedFailure, attempts = 1): FinishedDelivery => ({
  failure,
  successes: 0,
  key,
  attempts,
  unrecorded: false,
});
const succeeded = (successes = 1): FinishedDelivery => ({
  failure: undefined,
  successes,
  key: undefined,
  attempts: 0,
  unrecorded: false,
});

test('closed: failures of several messages are a suspicion; after the probe passed they are the messages’ own for a while', (t) => {
  const breaker = new OutageBreaker();
  breaker.observe(succeeded(10), 'closed', 0);
  const signals = ['a', 'b', 'c', 'd', 'e', 'f'].map((key) => breaker.observe(failed(key, bug), 'closed', 0));
  t.deepEqual(signals.slice(0, 4), [undefined, undefined, undefined, undefined]);
  t.like(signals[4], { type: 'FAILURES_SUSPECTED' });

  breaker.probePassed(1_000);
  const within = ['g', 'h', 'i', 'j', 'k'].map((key) => breaker.observe(failed(key, bug), 'closed', 2_000));
  t.deepEqual(within, [undefined, undefined, undefined, undefined, undefined]);
  t.like(breaker.observe(failed('l', bug), 'closed', 1_000 + healthyVerdictHoldMs), { type: 'FAILURES_SUSPECTED' });
  t.deepEqual(breaker.takeOwed(), new Map(), 'a bug owes nothing back');
});

test('closed: timeouts of several messages open the breaker, and their attempts are owed back', (t) => {
  const breaker = new OutageBreaker();
  const signals = ['a', 'b', 'c', 'a', 'b'].map((key) => breaker.observe(failed(key, timeout), 'closed', 0));
  t.like(signals[4], { type: 'DEPENDENCY_DOWN', cause: 'failure-rate' });
  t.deepEqual(
    breaker.takeOwed(),
    new Map([
      ['a', 2],
      ['b', 2],
      ['c', 1],
    ]),
  );
  t.deepEqual(breaker.takeOwed(), new Map(), 'taken once');
});

test('a known outage opens the breaker at once; an unrecordable attempt is its own cause', (t) => {
  const breaker = new OutageBreaker();
  t.deepEqual(breaker.observe(failed('a', down), 'closed', 0), {
    type: 'DEPENDENCY_DOWN',
    reason: 'connection refused',
    cause: 'unavailable',
  });
  t.like(breaker.observe({ ...failed('b', down, 0), unrecorded: true }, 'closed', 0), { cause: 'unrecordable' });
  t.deepEqual(breaker.takeOwed(), new Map([['a', 1]]), 'only the recorded attempt is owed');
});

test('open: failures owe their attempts and signal nothing; poison is never the breaker’s', (t) => {
  const breaker = new OutageBreaker();
  t.is(breaker.observe(failed('a', bug), 'open', 0), undefined);
  t.is(breaker.observe(failed('p', poison), 'closed', 0), undefined);
  t.is(breaker.observe(failed('p', poison), 'halfOpen', 0), undefined);
  t.deepEqual(breaker.takeOwed(), new Map([['a', 1]]));
});

test('half-open: a success or a failure of the message’s own passes the trial; an outage fails it', (t) => {
  const breaker = new OutageBreaker();
  breaker.startTrial();
  t.deepEqual(breaker.observe(succeeded(), 'halfOpen', 0), { type: 'TRIAL_PASSED' });
  breaker.startTrial();
  t.deepEqual(breaker.observe(failed('head', bug), 'halfOpen', 0), { type: 'TRIAL_PASSED' });
  breaker.startTrial();
  t.like(breaker.observe(failed('a', down), 'halfOpen', 0), { type: 'DEPENDENCY_DOWN', cause: 'trial-failed' });
});

test('half-open: one timeout leaves the trial undecided, a second message timing out fails it', (t) => {
  const breaker = new OutageBreaker();
  breaker.startTrial();
  t.is(breaker.observe(failed('a', timeout), 'halfOpen', 0), undefined);
  t.like(breaker.observe(failed('b', timeout), 'halfOpen', 0), { cause: 'trial-failed' });
  t.deepEqual(
    breaker.takeOwed(),
    new Map([
      ['a', 1],
      ['b', 1],
    ]),
  );
});

test('a failed probe owes the window’s attempts; attempts that could not be given back are owed again', (t) => {
  const breaker = new OutageBreaker();
  breaker.observe(failed('a', bug, 1), 'closed', 0);
  breaker.observe(failed('b', bug, 2), 'closed', 0);
  breaker.probeFailed();
  const owed = breaker.takeOwed();
  t.deepEqual(
    owed,
    new Map([
      ['a', 1],
      ['b', 1],
    ]),
  );
  breaker.oweAgain(owed);
  breaker.oweAgain(new Map([['a', 2]]));
  t.deepEqual(
    breaker.takeOwed(),
    new Map([
      ['a', 3],
      ['b', 1],
    ]),
  );
});
