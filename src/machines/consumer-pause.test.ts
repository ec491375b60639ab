/**
 * A consumer's pause as `/readyz` and the paused-seconds gauge read it: the real consumer machine, with its
 * actors answering at once, keeps `pausedSince` from its first opening through a failed trial and clears
 * it when it consumes again or restarts; the check text names the state, the time and the reason.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { createActor, fromPromise, waitFor } from 'xstate';
import { consumerMachine } from './consumer.js';
import { describePause, pausedSeconds, pausedStates, pauseOf } from './consumer-pause.js';

const done = <Input>() => fromPromise<void, Input>(async () => {});

function startedConsumer() {
  return createActor(
    consumerMachine.provide({
      actors: {
        subscribe: done<{ queue: string }>(),
        pause: done<{ queue: string }>(),
        waitForDependency: done<{ queue: string; openings: number }>(),
        giveBackAttempts: done<{ queue: string }>(),
        resume: done<{ queue: string }>(),
        widen: done<{ queue: string }>(),
        drain: done<{ queue: string }>(),
      },
    }),
    { input: { queue: 'q' } },
  ).start();
}

test('pausedSince is set when the breaker opens, kept through a failed trial, cleared on consuming and on a restart', async (t) => {
  const consumer = startedConsumer();
  t.teardown(() => consumer.stop());
  const consuming = await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));
  t.is(pauseOf('consuming', consuming.context), undefined);

  const before = Date.now();
  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'connection refused' });
  const firstTrial = await waitFor(consumer, (snapshot) => snapshot.matches('halfOpen'));
  const since = firstTrial.context.pausedSince;
  t.true(since !== undefined && since >= before && since <= Date.now(), `pausedSince ${since}`);
  while (Date.now() <= since!) await sleep(1); // so that a reopening that set it again would differ

  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'trial failed' });
  const secondTrial = await waitFor(
    consumer,
    (snapshot) => snapshot.matches('halfOpen') && snapshot.context.trippedBy === 'trial-failed',
  );
  t.is(secondTrial.context.pausedSince, since, 'a reopening keeps the time the pause began');
  t.like(pauseOf('halfOpen', secondTrial.context), { state: 'halfOpen', since, trippedBy: 'trial-failed' });

  consumer.send({ type: 'TRIAL_PASSED' });
  const closed = await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));
  t.is(closed.context.pausedSince, undefined);

  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'connection refused' });
  await waitFor(consumer, (snapshot) => snapshot.matches('halfOpen'));
  consumer.send({ type: 'CHANNEL_LOST', reason: 'channel closed' });
  const restarting = await waitFor(consumer, (snapshot) => snapshot.matches('restarting'));
  t.is(restarting.context.pausedSince, undefined, 'a restart ends the pause: the new subscription starts closed');
});

test('the paused states are the open and half-open breaker, not consuming, restarting or stopping', (t) => {
  t.deepEqual([...pausedStates], ['pausing', 'paused', 'restoring', 'resuming', 'halfOpen', 'closing']);
  const context = { pausedSince: 1_000, trippedBy: 'unavailable' as const, error: 'down' };
  for (const state of ['subscribing', 'consuming', 'restarting', 'draining', 'stopped']) {
    t.is(pauseOf(state, context), undefined, state);
    t.is(pausedSeconds(state, context, 61_000), 0, state);
  }
});

test('pausedSeconds counts from pausedSince, and is 0 without it', (t) => {
  t.is(pausedSeconds('paused', { pausedSince: 1_000 }, 91_500), 90.5);
  t.is(pausedSeconds('halfOpen', { pausedSince: 1_000 }, 1_000), 0);
  t.is(pausedSeconds('paused', { pausedSince: 5_000 }, 1_000), 0, 'a clock gone back gives 0, not a negative');
  t.is(pausedSeconds('paused', {}, 91_500), 0);
});

test('the check says the state, since when (ISO time) and why, with any password hidden', (t) => {
  const since = Date.parse('2026-12-07T12:00:00.000Z');
  t.is(
    describePause({ state: 'paused', since, trippedBy: 'failure-rate', error: 'relation "cards" does not exist' }),
    'paused since 2026-12-07T12:00:00.000Z (failure-rate: most recent deliveries of several messages failed; relation "cards" does not exist)',
  );
  t.is(
    describePause({ state: 'halfOpen', since, trippedBy: 'trial-failed', error: undefined }),
    'halfOpen, paused since 2026-12-07T12:00:00.000Z (trial-failed: the half-open trial failed)',
  );
  t.is(
    describePause({
      state: 'pausing',
      since,
      trippedBy: 'unavailable',
      error: 'connect to postgres://card:s3cret@db:5432/card refused',
    }),
    'pausing, paused since 2026-12-07T12:00:00.000Z (unavailable: an error known as an outage; connect to postgres://card:***@db:5432/card refused)',
  );
  t.is(describePause({ state: 'paused', since: undefined, trippedBy: undefined, error: undefined }), 'paused');
});
