import test from 'ava';
import { HalfOpenTrial, trialMessages, type TrialResult } from './half-open-trial.js';

const timeout = (key: string): TrialResult => ({ failed: true, key, cause: 'timeout' });

test('a success passes the trial', (t) => {
  const trial = new HalfOpenTrial();
  t.is(trial.record(timeout('a')), 'undecided');
  t.is(trial.record({ failed: false }), 'passed');
});

test('a message failing for a reason of its own passes the trial: the database answered', (t) => {
  t.is(new HalfOpenTrial().record({ failed: true, key: 'head', cause: 'other' }), 'passed');
});

test('a known outage fails the trial at once, whichever message gave it', (t) => {
  t.is(new HalfOpenTrial().record({ failed: true, key: 'head', cause: 'outage' }), 'failed');
});

test('timeouts fail it once several different messages timed out, not at the first one', (t) => {
  const trial = new HalfOpenTrial();
  const verdicts = Array.from({ length: trialMessages }, (_, index) => trial.record(timeout(`m${index}`)));
  t.deepEqual(verdicts, [...Array.from({ length: trialMessages - 1 }, () => 'undecided'), 'failed']);
});

test('a message timing out again before any other did fails it: nothing else is left to try', (t) => {
  const trial = new HalfOpenTrial();
  t.is(trial.record(timeout('only')), 'undecided');
  t.is(trial.record(timeout('only')), 'failed');
});

test('each trial starts afresh', (t) => {
  t.is(new HalfOpenTrial().record(timeout('a')), 'undecided');
  t.is(new HalfOpenTrial().record(timeout('a')), 'undecided');
});
