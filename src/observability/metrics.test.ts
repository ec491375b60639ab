/**
 * The metrics listener and its cells, without broker or database: small machines with the runtime's machine
 * ids run through the decoder into the listener under a fake clock; the cell histogram renders exactly as
 * prom-client's own.
 */
import test from 'ava';
import { Counter, Histogram, Registry } from 'prom-client';
import { assign, createActor, fromPromise, setup, waitFor } from 'xstate';
import { consumerMachine } from '../machines/consumer.js';
import { createDecoder } from './decoder.js';
import { type ObservedConsumer } from './observation.js';
import { CellCountCounter, CellHistogram } from './metrics-histogram.js';
import { publishFailureKind, RuntimeMetrics } from './metrics.js';
import { NotConnectedError, PublishTimeoutError, UnroutableError } from '../actors/broker/publisher.js';

async function valueOf(
  metrics: RuntimeMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    for (const sample of metric.values as { metricName?: string; labels: Record<string, unknown>; value: number }[]) {
      const sampleName = sample.metricName ?? metric.name;
      if (sampleName === name && Object.entries(labels).every(([key, value]) => String(sample.labels[key]) === value)) {
        return sample.value;
      }
    }
  }
  return undefined;
}

const consumerOf = (queue: string): ObservedConsumer => ({
  service: 'svc',
  consumer: `${queue}-consumer`,
  queue,
  describe: { received: () => '', completed: () => '' },
});

/** Metrics for the consumers of `queues`, and the inspector that feeds them (a decoder with them alone). */
function observed(queues: readonly string[], now?: () => number) {
  const consumers = new Map(queues.map((queue) => [queue, consumerOf(queue)]));
  const metrics = new RuntimeMetrics({ consumers, processMetrics: false });
  const inspect = createDecoder(
    now === undefined ? { consumers, listeners: [metrics] } : { consumers, listeners: [metrics], now },
  );
  return { metrics, inspect };
}

function fakeClock() {
  const clock = { ms: 0, now: () => clock.ms };
  return clock;
}

const deliveryLike = setup({
  types: {
    context: {} as {
      deliveries: { queue: string }[];
      duplicates: boolean[];
      outcome: string | undefined;
      touched: number;
    },
    input: {} as { queue: string; duplicates?: boolean[] },
    events: {} as { type: 'PERSISTED' } | { type: 'ACK' } | { type: 'POISON' } | { type: 'SPLIT' } | { type: 'TOUCH' },
  },
}).createMachine({
  id: 'delivery',
  context: ({ input }) => ({
    deliveries: (input.duplicates ?? [false]).map(() => ({ queue: input.queue })),
    duplicates: input.duplicates ?? [false],
    outcome: undefined,
    touched: 0,
  }),
  initial: 'persisting',
  states: {
    persisting: {
      on: {
        PERSISTED: 'publishing',
        POISON: { target: 'done', actions: assign({ outcome: 'dead-lettered' }) },
        SPLIT: { target: 'done', actions: assign({ outcome: 'split' }) },
        TOUCH: { actions: assign({ touched: ({ context }) => context.touched + 1 }) },
      },
    },
    publishing: { on: { ACK: { target: 'done', actions: assign({ outcome: 'acked' }) } } },
    done: { type: 'final' },
  },
});

test('cell histograms and their counter render exactly as prom-client renders the same observations', async (t) => {
  const options = {
    name: 'x_seconds',
    help: 'Some time.',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.1, 1, 10],
  };
  const expected = new Registry();
  const reference = new Histogram({ ...options, labelNames: [...options.labelNames], registers: [expected] });
  const referenceCount = new Counter({
    name: 'x_total',
    help: 'Some count.',
    labelNames: ['queue', 'outcome'],
    registers: [expected],
  });
  const actual = new Registry();
  const cells = new CellHistogram(actual, options);
  new CellCountCounter(actual, 'x_total', 'Some count.', cells);

  const observations: [Record<'queue' | 'outcome', string>, number][] = [
    [{ queue: 'a', outcome: 'acked' }, 0.05],
    [{ queue: 'a', outcome: 'acked' }, 0.1], // on a bound: counted in that bucket
    [{ queue: 'a', outcome: 'acked' }, 5],
    [{ queue: 'b"\\', outcome: 'retried' }, 100], // above every bound: +Inf only
    [{ queue: 'a', outcome: 'acked' }, 1],
  ];
  for (const [labels, value] of observations) {
    reference.observe(labels, value);
    referenceCount.inc(labels);
    cells.cell(labels).observe(value);
  }
  t.is(await actual.metrics(), await expected.metrics());

  const project = (json: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
    json.map((metric) => ({
      name: metric.name,
      type: metric.type,
      values: (metric.values as { metricName?: string; labels: object; value: number }[]).map(
        ({ metricName, labels, value }) => ({
          metricName,
          labels: { ...labels },
          value,
        }),
      ),
    }));
  t.deepEqual(project(await actual.getMetricsAsJSON()), project(await expected.getMetricsAsJSON()));

  t.is(
    cells.cell({ queue: 'a', outcome: 'acked' }),
    cells.cell({ queue: 'a', outcome: 'acked' }),
    'one cell per label set',
  );
  actual.resetMetrics();
  t.is(cells.cell({ queue: 'a', outcome: 'acked' }).count, 0);
});

test('a delivery: time in each state it leaves, its duration and its outcome; context-only snapshots change nothing', async (t) => {
  const clock = fakeClock();
  const { metrics, inspect } = observed(['q'], clock.now);
  t.is(
    await valueOf(metrics, 'ackstate_deliveries_total', {
      service: 'svc',
      consumer: 'q-consumer',
      queue: 'q',
      outcome: 'dead-lettered',
    }),
    0,
    'outcomes start at zero, named by service and consumer',
  );

  const actor = createActor(deliveryLike, { input: { queue: 'q' }, inspect }).start();
  clock.ms = 4;
  actor.send({ type: 'TOUCH' });
  clock.ms = 10;
  actor.send({ type: 'PERSISTED' });
  clock.ms = 35;
  actor.send({ type: 'ACK' });
  t.is(actor.getSnapshot().status, 'done');

  const state = 'ackstate_state_duration_seconds';
  t.is(await valueOf(metrics, `${state}_count`, { machine: 'delivery', state: 'persisting' }), 1);
  t.is(await valueOf(metrics, `${state}_sum`, { machine: 'delivery', state: 'persisting' }), 0.01);
  t.is(await valueOf(metrics, `${state}_sum`, { machine: 'delivery', state: 'publishing' }), 0.025);
  t.is(
    await valueOf(metrics, `${state}_count`, { machine: 'delivery', state: 'done' }),
    undefined,
    'the final state is not timed',
  );
  t.is(
    await valueOf(metrics, 'ackstate_deliveries_total', {
      service: 'svc',
      consumer: 'q-consumer',
      queue: 'q',
      outcome: 'acked',
    }),
    1,
  );
  t.is(await valueOf(metrics, 'ackstate_delivery_duration_seconds_sum', { queue: 'q', outcome: 'acked' }), 0.035);
  t.is(
    await valueOf(metrics, 'ackstate_delivery_duration_seconds_bucket', { queue: 'q', outcome: 'acked', le: '0.05' }),
    1,
  );
  t.is(
    await valueOf(metrics, 'ackstate_delivery_duration_seconds_bucket', { queue: 'q', outcome: 'acked', le: '0.025' }),
    0,
  );

  const poison = createActor(deliveryLike, { input: { queue: 'other' }, inspect }).start();
  poison.send({ type: 'POISON' });
  t.is(
    await valueOf(metrics, 'ackstate_deliveries_total', {
      service: '',
      consumer: '',
      queue: 'other',
      outcome: 'dead-lettered',
    }),
    1,
    'a queue not known at start: no service or consumer to name',
  );
  t.is(await valueOf(metrics, `${state}_count`, { machine: 'delivery', state: 'persisting' }), 2);
});

test('a batch counts each of its deliveries by its own outcome; a split batch counts none (its parts are counted)', async (t) => {
  const { metrics, inspect } = observed(['q']);
  const batch = createActor(deliveryLike, { input: { queue: 'q', duplicates: [false, true, false] }, inspect }).start();
  batch.send({ type: 'PERSISTED' });
  batch.send({ type: 'ACK' });
  const split = createActor(deliveryLike, { input: { queue: 'q', duplicates: [false, false] }, inspect }).start();
  split.send({ type: 'SPLIT' });

  t.is(await valueOf(metrics, 'ackstate_deliveries_total', { queue: 'q', outcome: 'acked' }), 2);
  t.is(await valueOf(metrics, 'ackstate_deliveries_total', { queue: 'q', outcome: 'duplicate' }), 1);
  t.is(await valueOf(metrics, 'ackstate_deliveries_total', { queue: 'q', outcome: 'split' }), undefined);
});

test('consumer pauses and restarts, broker losses and reconnects, supervisor restarts, actor states', async (t) => {
  const { metrics, inspect } = observed(['q']);
  const named = { service: 'svc', consumer: 'q-consumer', queue: 'q' };
  t.is(await valueOf(metrics, 'ackstate_consumer_pauses_total', named), 0, 'each consumer starts at zero');
  const consumer = createActor(
    setup({ types: { context: {} as { queue: string } } }).createMachine({
      id: 'consumer',
      context: { queue: 'q' },
      initial: 'consuming',
      states: {
        consuming: { on: { DOWN: 'pausing', LOST: 'restarting' } },
        pausing: { on: { NEXT: 'paused' } },
        paused: { on: { NEXT: 'resuming' } },
        resuming: { on: { NEXT: 'consuming' } },
        restarting: { on: { NEXT: 'consuming' } },
      },
    }),
    { systemId: 'consumer:test', inspect },
  ).start();
  for (const type of ['DOWN', 'NEXT', 'NEXT', 'NEXT', 'LOST', 'NEXT', 'DOWN', 'NEXT']) consumer.send({ type });
  t.is(await valueOf(metrics, 'ackstate_consumer_pauses_total', named), 2);
  t.is(await valueOf(metrics, 'ackstate_consumer_restarts_total', named), 1);
  t.is(await valueOf(metrics, 'ackstate_actor_state', { actor: 'consumer:test', state: 'paused' }), 1);
  t.is(await valueOf(metrics, 'ackstate_actor_state', { actor: 'consumer:test', state: 'consuming' }), undefined);

  const connection = createActor(
    setup({}).createMachine({
      id: 'connection',
      initial: 'connecting',
      states: {
        connecting: { on: { UP: 'connected', DOWN: 'reconnecting' } },
        connected: { on: { DOWN: 'reconnecting' } },
        reconnecting: { on: { UP: 'connected', DOWN: {} } },
      },
    }),
    { inspect },
  ).start();
  for (const type of ['UP', 'DOWN', 'DOWN', 'UP', 'DOWN']) connection.send({ type });
  t.is(await valueOf(metrics, 'ackstate_broker_disconnects_total'), 2);
  t.is(await valueOf(metrics, 'ackstate_broker_reconnects_total'), 1);

  const supervisor = createActor(
    setup({
      types: {
        context: {} as { children: { id: string }[]; restarts: Record<string, number> },
        events: {} as { type: 'FAILED'; id: string },
      },
    }).createMachine({
      id: 'supervisor',
      context: { children: [{ id: 'consumer:a' }, { id: 'outbox:a' }], restarts: {} },
      initial: 'running',
      states: {
        running: {
          on: {
            FAILED: {
              actions: assign({
                restarts: ({ context, event }) => ({
                  ...context.restarts,
                  [event.id]: (context.restarts[event.id] ?? 0) + 1,
                }),
              }),
            },
          },
        },
      },
    }),
    { inspect },
  ).start();
  supervisor.send({ type: 'FAILED', id: 'consumer:a' });
  supervisor.send({ type: 'FAILED', id: 'consumer:a' });
  t.is(await valueOf(metrics, 'ackstate_supervisor_restarts_total', { child: 'consumer:a' }), 2);
  t.is(await valueOf(metrics, 'ackstate_supervisor_restarts_total', { child: 'outbox:a' }), 0);
});

test('publishes: confirm latency, failures by kind; a failing probe does not fail the scrape', async (t) => {
  const metrics = new RuntimeMetrics({ processMetrics: false });
  metrics.publishes.confirmed(0.003);
  metrics.publishes.confirmed(0.2);
  metrics.publishes.failed(new PublishTimeoutError('no confirm'));
  metrics.publishes.failed(new Error('channel closed'));
  t.is(await valueOf(metrics, 'ackstate_publish_confirm_seconds_count'), 2);
  t.is(await valueOf(metrics, 'ackstate_publish_confirm_seconds_bucket', { le: '0.005' }), 1);
  t.is(await valueOf(metrics, 'ackstate_publish_failures_total', { kind: 'timeout' }), 1);
  t.is(await valueOf(metrics, 'ackstate_publish_failures_total', { kind: 'rejected' }), 1);
  t.is(await valueOf(metrics, 'ackstate_publish_failures_total', { kind: 'unroutable' }), 0);

  t.is(publishFailureKind(new NotConnectedError()), 'not_connected');
  t.is(publishFailureKind(new UnroutableError('returned')), 'unroutable');

  metrics.addProbe(async () => {
    throw new Error('database down');
  });
  t.regex(await metrics.scrape(), /^ackstate_publish_confirm_seconds_count 2$/m);
});

test('each system has a registry of its own, with the process metrics when asked', async (t) => {
  const first = new RuntimeMetrics();
  const second = new RuntimeMetrics({ processMetrics: false });
  t.not(first.registry, second.registry);
  t.regex(await first.scrape(), /^process_cpu_user_seconds_total /m);
  t.notRegex(await second.scrape(), /^process_cpu_user_seconds_total /m);
});

test('breaker trips are counted by consumer and reason, every reason from zero', async (t) => {
  const { metrics, inspect } = observed(['q']);
  const named = { service: 'svc', consumer: 'q-consumer', queue: 'q' };
  for (const reason of ['unavailable', 'failure-rate', 'unrecordable', 'trial-failed']) {
    t.is(await valueOf(metrics, 'ackstate_breaker_trips_total', { ...named, reason }), 0, reason);
  }
  const done = <Input>() => fromPromise<void, Input>(async () => {});
  const consumer = createActor(
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
    { input: { queue: 'q' }, inspect },
  ).start();
  t.teardown(() => consumer.stop());
  await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));
  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'most failed', cause: 'failure-rate' });
  await waitFor(consumer, (snapshot) => snapshot.matches('halfOpen'));
  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'trial failed' });
  await waitFor(consumer, (snapshot) => snapshot.matches('halfOpen'));
  consumer.send({ type: 'TRIAL_PASSED' });
  await waitFor(consumer, (snapshot) => snapshot.matches('consuming'));
  consumer.send({ type: 'DEPENDENCY_DOWN', reason: 'connection refused' });

  t.is(await valueOf(metrics, 'ackstate_breaker_trips_total', { ...named, reason: 'failure-rate' }), 1);
  t.is(await valueOf(metrics, 'ackstate_breaker_trips_total', { ...named, reason: 'trial-failed' }), 1);
  t.is(await valueOf(metrics, 'ackstate_breaker_trips_total', { ...named, reason: 'unavailable' }), 1);
  t.is(await valueOf(metrics, 'ackstate_consumer_pauses_total', named), 3);
});
