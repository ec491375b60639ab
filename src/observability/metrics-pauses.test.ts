/**
 * `ackstate_consumer_paused_seconds` as the runtime computes it: the real consumer machine runs through the
 * decoder into the metrics listener, and each scrape reads the gauge under a clock the test sets, counted
 * from the `pausedSince` the machine recorded.
 */
import test from 'ava';
import { createActor, fromPromise, waitFor } from 'xstate';
import { consumerMachine } from '../machines/consumer.js';
import { createDecoder } from './decoder.js';
import { type ObservedConsumer } from './observation.js';
import { RuntimeMetrics } from './metrics.js';

const named = { service: 'svc', consumer: 'q-consumer', queue: 'q' };
const owner: ObservedConsumer = { ...named, describe: { received: () => '', completed: () => '' } };

async function pausedSecondsOf(metrics: RuntimeMetrics): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric('ackstate_consumer_paused_seconds')?.get();
  return metric?.values.find((value) => value.labels.queue === named.queue)?.value;
}

/** A consumer whose probe passes only when the test says so, observed by metrics read at `clock.ms`. */
function observedConsumer() {
  const clock = { ms: 0 };
  const consumers = new Map([[named.queue, owner]]);
  const metrics = new RuntimeMetrics({ consumers, processMetrics: false, now: () => clock.ms });
  const inspect = createDecoder({ consumers, listeners: [metrics] });
  const probe = { pass: () => {} };
  const done = <Input>() => fromPromise<void, Input>(async () => {});
  const consumer = createActor(
    consumerMachine.provide({
      actors: {
        subscribe: done<{ queue: string }>(),
        pause: done<{ queue: string }>(),
        waitForDependency: fromPromise<void, { queue: string; openings: number }>(
          () => new Promise<void>((resolve) => (probe.pass = resolve)),
        ),
        giveBackAttempts: done<{ queue: string }>(),
        resume: done<{ queue: string }>(),
        widen: done<{ queue: string }>(),
        drain: done<{ queue: string }>(),
      },
    }),
    { input: { queue: named.queue }, inspect, systemId: 'consumer:svc' },
  );
  return { clock, metrics, consumer, probe };
}

test('the gauge is 0 from the start, and while the consumer consumes', async (t) => {
  const { metrics, consumer } = observedConsumer();
  t.is(await pausedSecondsOf(metrics), 0, 'before the consumer is even seen');
  consumer.start();
  t.teardown(() => consumer.stop());
  await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));
  t.is(await pausedSecondsOf(metrics), 0);
});

test('a pause counts from its first opening, through a failed trial, until the consumer consumes again', async (t) => {
  const { clock, metrics, consumer, probe } = observedConsumer();
  consumer.start();
  t.teardown(() => consumer.stop());
  await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));

  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'connection refused' });
  const paused = await waitFor(consumer, (snapshot) => snapshot.matches('paused'));
  const since = paused.context.pausedSince!;
  clock.ms = since + 90_000;
  t.is(await pausedSecondsOf(metrics), 90);

  probe.pass();
  await waitFor(consumer, (snapshot) => snapshot.matches('halfOpen'));
  clock.ms = since + 120_500;
  t.is(await pausedSecondsOf(metrics), 120.5, 'half-open is still paused');

  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'trial failed' });
  await waitFor(consumer, (snapshot) => snapshot.matches('paused') && snapshot.context.trippedBy === 'trial-failed');
  clock.ms = since + 400_000;
  t.is(await pausedSecondsOf(metrics), 400, 'the reopening keeps counting from the first opening');

  probe.pass();
  await waitFor(consumer, (snapshot) => snapshot.matches('halfOpen'));
  consumer.send({ type: 'TRIAL_PASSED' });
  await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));
  t.is(await pausedSecondsOf(metrics), 0);
});

test('a consumer that restarts or stops while paused is no longer paused', async (t) => {
  const { clock, metrics, consumer } = observedConsumer();
  consumer.start();
  t.teardown(() => consumer.stop());
  await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));
  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'connection refused' });
  const paused = await waitFor(consumer, (snapshot) => snapshot.matches('paused'));
  clock.ms = paused.context.pausedSince! + 60_000;
  t.is(await pausedSecondsOf(metrics), 60);

  consumer.send({ type: 'CHANNEL_LOST', reason: 'channel closed' });
  await waitFor(consumer, (snapshot) => snapshot.matches('restarting'));
  t.is(await pausedSecondsOf(metrics), 0, 'restarting');

  await waitFor(consumer, (snapshot) => snapshot.matches('consuming'), { timeout: 30_000 });
  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'connection refused' });
  const pausedAgain = await waitFor(consumer, (snapshot) => snapshot.matches('paused'));
  clock.ms = pausedAgain.context.pausedSince! + 30_000;
  t.is(await pausedSecondsOf(metrics), 30);
  consumer.stop();
  t.is(await pausedSecondsOf(metrics), 0, 'stopped');
});
