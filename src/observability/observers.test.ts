/**
 * `createObservers`: one inspector feeds the log, the metrics and the live monitor, and all three name the
 * service and the consumer of each delivery and each consumer. The runtime's delivery and consumer machines
 * run with stub actors; the log goes to a sink the test reads.
 */
import { Writable } from 'node:stream';
import test from 'ava';
import { assign, createActor, fromPromise, toPromise, waitFor } from 'xstate';
import { consumerMachine } from '../machines/consumer.js';
import { deliveryMachine, persistStep, type Delivery } from '../machines/delivery.js';
import { createLogger } from './logger.js';
import { createObservers, type ObservedConsumer } from './observers.js';

const users: ObservedConsumer = {
  service: 'card',
  consumer: 'users',
  queue: 'user_queue',
  describe: {
    received: (message) => `Processing user: ${(message as { id: string }).id}`,
    completed: (message) => `Successfully processed user ${(message as { id: string }).id}`,
  },
};

function observed() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write: (chunk, _encoding, done) => {
      for (const text of String(chunk).split('\n')) if (text) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const observers = createObservers({
    logger: createLogger('info', sink),
    consumers: new Map([[users.queue, users]]),
    processMetrics: false,
  });
  const flushed = () => new Promise((resolve) => setImmediate(resolve));
  return { ...observers, lines, flushed };
}

async function valueOf(
  scrape: () => Promise<string>,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of (await scrape()).split('\n')) {
    const match = /^([^{ ]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match?.[1] === name && wanted.every((pair) => (match[2] ?? '').split(',').includes(pair))) {
      return Number(match[3]);
    }
  }
  return undefined;
}

const delivery: Delivery = {
  queue: 'user_queue',
  deliveryTag: 7,
  redelivered: false,
  messageId: 'm-1',
  contentType: 'application/json',
  headers: {},
  content: new TextEncoder().encode('{}'),
};

test('a delivery: its log lines, its metric series and its live record name its service and consumer', async (t) => {
  const { inspect, metrics, monitor, lines, flushed } = observed();
  const logic = deliveryMachine.provide({
    actions: {
      persist: persistStep(async () => ({
        duplicates: [false],
        outgoing: [],
        results: [undefined],
      })),
      decode: assign({ decoded: [{ key: 'user:u-1', message: { id: 'u-1' } }] }),
      ack: () => {},
      nack: () => {},
    },
  });
  const actor = createActor(logic, { input: { deliveries: [delivery], maxAttempts: 3 }, inspect });
  actor.start();
  t.is((await toPromise(actor)).outcome, 'acked');
  await flushed();

  const named = { service: 'card', consumer: 'users', queue: 'user_queue', messageId: 'm-1', deliveryTag: 7 };
  t.like(lines[0], {
    ...named,
    machine: 'delivery',
    from: 'receiving',
    to: 'persisting',
    ms: 0,
    message: 'transition',
  });
  t.like(lines[1], { ...named, level: 'info', message: 'Processing user: u-1' });
  t.like(lines[2], { ...named, machine: 'delivery', from: 'persisting', to: 'done', outcome: 'acked' });
  t.like(lines[3], { ...named, outcome: 'acked', message: 'Successfully processed user u-1' });
  t.is(lines.length, 4);

  const scrape = () => metrics.scrape();
  t.is(
    await valueOf(scrape, 'ackstate_deliveries_total', {
      service: 'card',
      consumer: 'users',
      queue: 'user_queue',
      outcome: 'acked',
    }),
    1,
  );
  t.is(await valueOf(scrape, 'ackstate_delivery_duration_seconds_count', { consumer: 'users', outcome: 'acked' }), 1);
  t.like(monitor.recent.list()[0], { service: 'card', consumer: 'users', queue: 'user_queue', outcome: 'acked' });
});

test('a batch that retries a set-aside message itself: that message has its own warn line and counts as retried', async (t) => {
  const { inspect, metrics, monitor, lines, flushed } = observed();
  const second: Delivery = { ...delivery, deliveryTag: 8, messageId: 'm-2' };
  const logic = deliveryMachine.provide({
    actions: {
      persist: persistStep(async () => ({
        duplicates: [false, false],
        outgoing: [],
        results: [undefined, undefined],
        setAside: [{ index: 1, error: new Error('no price for u-2'), attempts: 1 }],
      })),
      decode: assign({
        decoded: [
          { key: 'user:u-1', message: { id: 'u-1' } },
          { key: 'user:u-2', message: { id: 'u-2' } },
        ],
      }),
      ack: () => {},
      nack: () => {},
      setAside: () => {},
    },
  });
  const actor = createActor(logic, { input: { deliveries: [delivery, second], maxAttempts: 3 }, inspect });
  actor.start();
  t.is((await toPromise(actor)).outcome, 'acked');
  await flushed();

  const own = lines.filter((line) => line.message !== 'transition' && line.outcome !== undefined);
  t.like(own[0], { messageId: 'm-1', outcome: 'acked', level: 'info', message: 'Successfully processed user u-1' });
  t.like(own[1], { messageId: 'm-2', deliveryTag: 8, outcome: 'retried', level: 'warn', attempts: 1 });
  t.is(own[1]?.error, 'no price for u-2');
  t.is(own.length, 2);
  const scrape = () => metrics.scrape();
  t.is(await valueOf(scrape, 'ackstate_deliveries_total', { queue: 'user_queue', outcome: 'acked' }), 1);
  t.is(await valueOf(scrape, 'ackstate_deliveries_total', { queue: 'user_queue', outcome: 'retried' }), 1);
  t.deepEqual(
    monitor.recent
      .list()
      .map((record) => record.outcome)
      .sort(),
    ['acked', 'retried'],
  );
});

test('a consumer: its log lines, its pause counter and its live status name its service and consumer', async (t) => {
  const { inspect, metrics, monitor, lines, flushed } = observed();
  const logic = consumerMachine.provide({
    actors: {
      subscribe: fromPromise(async () => {}),
      pause: fromPromise(async () => {}),
      waitForDependency: fromPromise(() => new Promise<void>(() => {})),
    },
  });
  const actor = createActor(logic, { input: { queue: 'user_queue' }, systemId: 'consumer:card', inspect });
  actor.start();
  await waitFor(actor, (snapshot) => snapshot.value === 'consuming');
  actor.send({ type: 'DEPENDENCY_DOWN', reason: 'database down' });
  await waitFor(actor, (snapshot) => snapshot.value === 'paused');
  await flushed();

  const named = { machine: 'consumer', service: 'card', consumer: 'users', queue: 'user_queue', message: 'transition' };
  t.like(lines[0], { ...named, from: null, to: 'subscribing', restarts: 0, level: 'info' });
  t.false('ms' in lines[0]!, 'no time in a state before the first');
  t.like(lines.at(-1), { ...named, from: 'pausing', to: 'paused', error: 'database down', level: 'warn' });
  t.is(
    await valueOf(() => metrics.scrape(), 'ackstate_consumer_pauses_total', {
      service: 'card',
      consumer: 'users',
      queue: 'user_queue',
    }),
    1,
  );
  t.like(monitor.stats().actors[0], {
    name: 'consumer:card',
    state: 'paused',
    service: 'card',
    consumer: 'users',
    queue: 'user_queue',
  });
  actor.stop();
});
