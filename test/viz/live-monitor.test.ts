/**
 * The live monitor, fed by real machines (with stub actors) through the decoder: it sees every state a
 * delivery passes through, eventless ones included, counts transitions under the same keys as the pictures,
 * keeps a bounded newest-first list of deliveries with their dead-letter reasons and the service and consumer
 * they belong to, and finds them by message or user id.
 */
import { Writable } from 'node:stream';
import test from 'ava';
import { assign, createActor, fromPromise, toPromise, type AnyStateMachine, type InspectionEvent } from 'xstate';
import { createDecoder } from '../../src/observability/decoder.js';
import { type ObservedConsumer } from '../../src/observability/observation.js';
import { createLogger } from '../../src/observability/logger.js';
import { createObservers } from '../../src/observability/observers.js';
import { LiveMonitor } from '../../src/viz/live/live-monitor.js';
import { deliveryMachine, persistStep, publishStep, type Delivery } from '../../src/machines/delivery.js';
import { outboxRelayMachine, type SweepResult } from '../../src/machines/outbox-relay.js';
import { chartOf, initialKey } from '../../src/viz/charts/chart.js';

const userId = '0b7c1e6e-5f2a-4d0e-9a51-1f4c2b7d9e01';

const userConsumer: ObservedConsumer = {
  service: 'card',
  consumer: 'users',
  queue: 'user_queue',
  describe: { received: () => 'received', completed: () => 'completed' },
};
const consumers = new Map([[userConsumer.queue, userConsumer]]);

/** A monitor and the inspector that feeds it: the decoder, with the monitor as its one listener. */
function monitored(options: { capacity?: number } = {}) {
  const monitor = new LiveMonitor(options);
  return { monitor, inspect: createDecoder({ consumers, listeners: [monitor] }) };
}

function deliveryOf(messageId: string | undefined): Delivery {
  return {
    queue: 'user_queue',
    deliveryTag: 1,
    redelivered: false,
    messageId,
    contentType: 'application/json',
    headers: {},
    content: new TextEncoder().encode('{}'),
  };
}

function deliveryLogic({ poison = false } = {}) {
  return deliveryMachine.provide({
    actors: {
      rollback: fromPromise(async () => {}),
      recordFailure: fromPromise(async () => 1),
      deadLetter: fromPromise(async () => {}),
    },
    actions: {
      publish: publishStep(async () => {}),
      persist: persistStep(async () => ({
        duplicates: [false],
        outgoing: [],
        results: [undefined],
      })),
      decode: assign(({ context }) =>
        poison
          ? {
              failure: { kind: 'poison' as const, reason: 'body is not JSON: Unexpected token' },
              error: 'body is not JSON',
              attempts: 1,
            }
          : { decoded: [{ key: `id:${context.deliveries[0]!.messageId}`, message: { id: userId, name: 'Ada' } }] },
      ),
      ack: () => {},
      nack: () => {},
    },
  });
}

async function run(
  inspect: (event: InspectionEvent) => void,
  messageId: string | undefined,
  options: { poison?: boolean } = {},
) {
  const actor = createActor(deliveryLogic(options), {
    input: { deliveries: [deliveryOf(messageId)], maxAttempts: 3 },
    inspect,
  });
  actor.start();
  await toPromise(actor);
}

const keysOf = (machine: AnyStateMachine) =>
  new Set([...chartOf(machine).transitions.map((t) => t.key), initialKey('')]);

test('an acked delivery: its whole path, acking included, and counts keyed as in the picture', async (t) => {
  const { monitor, inspect } = monitored();
  await run(inspect, 'm-1');

  const [record] = monitor.recent.list();
  t.deepEqual(
    record!.path.map((step) => step.state),
    ['receiving', 'persisting', 'acking', 'done'],
  );
  t.is(record!.outcome, 'acked');
  t.is(record!.service, 'card');
  t.is(record!.consumer, 'users');
  t.is(record!.queue, 'user_queue');
  t.is(record!.messageId, 'm-1');
  t.deepEqual(record!.ids, { id: userId });
  t.true(record!.finishedAt! >= record!.startedAt);
  t.true(record!.path.slice(0, -1).every((step) => typeof step.ms === 'number' && step.ms >= 0));
  t.is(record!.path.at(-1)!.ms, undefined);

  const stats = monitor.stats();
  const counts = stats.machines.delivery!;
  t.deepEqual(counts.now, {}, 'nothing left in flight');
  t.is(stats.deliveriesInFlight, 0);
  for (const state of ['receiving', 'persisting', 'acking', 'done']) t.is(counts.entered[state], 1, state);
  const known = keysOf(deliveryMachine);
  for (const key of Object.keys(counts.transitions)) t.true(known.has(key), `${key} is a transition of the picture`);
  t.is(counts.transitions['acking||2'], 1, 'the eventless acking → done is counted');
  t.is(counts.transitions['receiving||5'], 1, 'the eventless receiving → persisting is counted');
  t.is(counts.transitions['persisting|PERSISTED|0'], 1, 'nothing to publish: straight to acking');
});

test('a poison delivery: dead-lettered, with the reason', async (t) => {
  const { monitor, inspect } = monitored();
  await run(inspect, 'poison-1', { poison: true });
  const [record] = monitor.recent.list();
  t.deepEqual(
    record!.path.map((step) => step.state),
    ['receiving', 'deadLettering', 'acking', 'done'],
  );
  t.is(record!.outcome, 'dead-lettered');
  t.is(record!.deadLetterReason, 'body is not JSON: Unexpected token');
  t.is(monitor.stats().machines.delivery!.transitions['receiving||4'], 1);
});

test('the list is bounded, newest first, searchable by message id and by the ids in the body', async (t) => {
  const { monitor, inspect } = monitored({ capacity: 3 });
  for (const id of ['order-1', 'order-2', 'order-3', 'order-4', 'order-5']) await run(inspect, id);
  t.deepEqual(
    monitor.recent.list().map((record) => record.messageId),
    ['order-5', 'order-4', 'order-3'],
  );
  t.deepEqual(
    monitor.recent.search('ORDER-4').map((record) => record.messageId),
    ['order-4'],
  );
  t.is(monitor.recent.search(userId.slice(0, 13)).length, 3);
  t.deepEqual(monitor.recent.search('nothing like it'), []);
  t.is(monitor.stats().machines.delivery!.entered.done, 5, 'totals count every delivery, not only the kept ones');
  const version = monitor.recent.version;
  await run(inspect, 'order-6');
  t.deepEqual(
    monitor.recent.changedSince(version).map((record) => record.messageId),
    ['order-6'],
  );
});

test('a batch: one record per delivery, sharing the batch path, all in flight until the batch ends', async (t) => {
  const { monitor, inspect } = monitored();
  const ids = ['b-1', 'b-2', 'b-3'];
  let inFlight: number | undefined;
  const logic = deliveryMachine.provide({
    actions: {
      publish: publishStep(async () => {}),
      persist: persistStep(async () => {
        inFlight = monitor.stats().deliveriesInFlight;
        return { duplicates: [false, true, false], outgoing: [], results: ids.map(() => undefined) };
      }),
      decode: assign({ decoded: ids.map((id) => ({ key: `id:${id}`, message: { id, user_id: userId } })) }),
      ack: () => {},
      nack: () => {},
    },
  });
  const deliveries = ids.map((id, index) => ({ ...deliveryOf(id), deliveryTag: index + 1 }));
  await toPromise(createActor(logic, { input: { deliveries, maxAttempts: 3 }, inspect }).start());

  t.is(inFlight, 3, 'every delivery of the batch counts while it runs');
  t.is(monitor.stats().deliveriesInFlight, 0);
  t.is(monitor.stats().machines.delivery!.entered.done, 1, 'one machine for the batch');
  const records = monitor.recent.list();
  t.deepEqual(
    records.map(({ seq, messageId, deliveryTag, outcome, batch }) => ({ seq, messageId, deliveryTag, outcome, batch })),
    [
      { seq: 3, messageId: 'b-3', deliveryTag: 3, outcome: 'acked', batch: 3 },
      { seq: 2, messageId: 'b-2', deliveryTag: 2, outcome: 'duplicate', batch: 3 },
      { seq: 1, messageId: 'b-1', deliveryTag: 1, outcome: 'acked', batch: 3 },
    ],
  );
  for (const record of records) {
    t.deepEqual(record.path, records[0]!.path);
    t.like(record, { service: 'card', consumer: 'users', finishedAt: records[0]!.finishedAt });
  }
  t.deepEqual(
    records[0]!.path.map((step) => step.state),
    ['receiving', 'persisting', 'acking', 'done'],
  );
  t.deepEqual(
    monitor.recent.search('B-2').map((record) => record.seq),
    [2],
  );
});

test('a long-lived actor is listed under its system id with its current state; re-entries are counted', async (t) => {
  const { monitor, inspect } = monitored();
  const results: SweepResult[] = [
    { claimed: 200, published: 200, more: true },
    { claimed: 3, published: 3, more: false },
  ];
  const logic = outboxRelayMachine.provide({
    actors: {
      sweep: fromPromise<SweepResult>(async () => results.shift() ?? { claimed: 0, published: 0, more: false }),
    },
    delays: { pollInterval: 60_000 },
  });
  const relay = createActor(logic, { systemId: 'outbox:user', inspect });
  relay.start();
  relay.send({ type: 'KICK' });
  await new Promise<void>((resolve) => {
    const subscription = relay.subscribe((snapshot) => {
      if (snapshot.value === 'idle' && results.length === 0) {
        subscription.unsubscribe();
        resolve();
      }
    });
  });
  const stats = monitor.stats();
  t.deepEqual(
    stats.actors.map(({ name, machine, state, status }) => ({ name, machine, state, status })),
    [{ name: 'outbox:user', machine: 'outboxRelay', state: 'idle', status: 'active' }],
  );
  const counts = stats.machines.outboxRelay!;
  t.is(counts.entered.sweeping, 2, 'the sweep after a full batch re-enters sweeping');
  t.is(counts.transitions['sweeping|xstate.done.actor.0.outboxRelay.sweeping|0'], 1);
  t.is(counts.transitions['idle|KICK|0'], 1);
  t.deepEqual(counts.now, { idle: 1 });
  relay.send({ type: 'STOP' });
  t.deepEqual(monitor.stats().machines.outboxRelay!.now, {}, 'a stopped actor is nowhere');
  t.is(monitor.stats().actors[0]!.state, 'stopped');
});

test('a listener that throws never reaches the machine, nor the listeners after it', async (t) => {
  const monitor = new LiveMonitor();
  const inspect = createDecoder({
    consumers,
    listeners: [
      {
        started: () => {
          throw new Error('observer bug');
        },
        microstep: () => {
          throw new Error('observer bug');
        },
        changed: () => {
          throw new Error('observer bug');
        },
        ended: () => {
          throw new Error('observer bug');
        },
      },
      monitor,
    ],
  });
  const actor = createActor(deliveryLogic(), { input: { deliveries: [deliveryOf('m-9')], maxAttempts: 3 }, inspect });
  actor.start();
  const output = await toPromise(actor);
  t.is(output.outcome, 'acked');
  t.is(monitor.recent.list()[0]!.outcome, 'acked');
});

test('createObservers: the monitor it makes sees the deliveries its inspector is given, named', async (t) => {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const { inspect, monitor } = createObservers({
    logger: createLogger('info', sink),
    consumers,
    processMetrics: false,
  });
  await run(inspect, 'm-10');
  const [record] = monitor.recent.list();
  t.like(record, { messageId: 'm-10', outcome: 'acked', service: 'card', consumer: 'users', queue: 'user_queue' });
  t.deepEqual(
    record!.path.map((step) => step.state),
    ['receiving', 'persisting', 'acking', 'done'],
  );
});
