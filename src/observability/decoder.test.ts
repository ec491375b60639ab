/**
 * The decoder of inspection events, without broker or database: the runtime's delivery and consumer
 * machines (with stub actors) and tiny machines run through it under a fake clock, and recording listeners
 * check what it hands on: which events, in which order, with which positions and times, named by which
 * service and consumer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';
import { consumerMachine } from '../machines/consumer.js';
import { deliveryMachine, persistStep, publishStep, type Delivery } from '../machines/delivery.js';
import { createDecoder } from './decoder.js';
import {
  type ContextChanged,
  type ObservationListener,
  type ObservedConsumer,
  type ObservedEvent,
  type Microstep,
  type StateChanged,
} from './observation.js';

const users: ObservedConsumer = {
  service: 'card',
  consumer: 'users',
  queue: 'user_queue',
  describe: { received: () => 'received', completed: () => 'completed' },
};
const consumers = new Map([[users.queue, users]]);

function fakeClock() {
  const clock = { ms: 0, now: () => clock.ms };
  return clock;
}

/** Every event of every kind, in order. */
function recorder() {
  const events: ObservedEvent[] = [];
  const listener: Required<ObservationListener> = {
    started: (event) => events.push(event),
    changed: (event) => events.push(event),
    updated: (event) => events.push(event),
    microstep: (event) => events.push(event),
    ended: (event) => events.push(event),
  };
  return { events, listener };
}

/** An event as a short line: `changed persisting→publishing 10`. */
function line(event: ObservedEvent): string {
  switch (event.type) {
    case 'started':
      return `started ${event.actor.machine} in ${event.state}`;
    case 'changed':
      return `changed ${event.from ?? '(first)'}→${event.to}${event.ms === undefined ? '' : ` ${event.ms}`}`;
    case 'updated':
      return `updated ${event.actor.state}`;
    case 'microstep':
      return `microstep ${event.from}→${event.to}${event.moved ? ` ${event.ms}` : ' (stayed)'} [${event.transitions.length}]`;
    case 'ended':
      return `ended ${event.status} ${event.ms}`;
  }
}

function deliveryOf(queue: string, messageId: string): Delivery {
  return {
    queue,
    deliveryTag: 1,
    redelivered: false,
    messageId,
    contentType: 'application/json',
    headers: {},
    content: new TextEncoder().encode('{}'),
  };
}

/** A delivery whose transaction and publish wait for the test to let them go, one tick of the clock each. */
function steppedDelivery(clock: { ms: number }) {
  const gates: (() => void)[] = [];
  const gate = <T>(value: T) =>
    new Promise<T>((resolve) => {
      gates.push(() => resolve(value));
    });
  const logic = deliveryMachine.provide({
    actions: {
      publish: publishStep(() => gate(undefined)),
      persist: persistStep(() => gate({ duplicates: [false], outgoing: [{ id: 'card' }], results: [undefined] })),
      decode: assign({ decoded: [{ key: 'user:1', message: { id: '1' } }] }),
      ack: () => {},
      nack: () => {},
    },
  });
  const release = async (at: number) => {
    while (gates.length === 0) await new Promise((resolve) => setImmediate(resolve));
    clock.ms = at;
    gates.shift()!();
  };
  return { logic, release };
}

test('a delivery: where it starts, each microstep, each state change with the time in the state left, its end', async (t) => {
  const clock = fakeClock();
  const { events, listener } = recorder();
  const inspect = createDecoder({ consumers, listeners: [listener], now: clock.now });
  const { logic, release } = steppedDelivery(clock);
  const actor = createActor(logic, {
    input: { deliveries: [deliveryOf('user_queue', 'm-1')], maxAttempts: 3 },
    inspect,
  });
  actor.start();
  await release(10);
  await release(35);
  t.is((await toPromise(actor)).outcome, 'acked');

  t.deepEqual(events.map(line), [
    // The first microstep has already left `receiving` (decoding is synchronous): the actor starts there.
    'started delivery in receiving',
    'microstep receiving→persisting 0 [1]',
    'changed (first)→persisting',
    // `acking` is eventless: a microstep sees it, the snapshot does not.
    'microstep persisting→acking 10 [1]',
    'microstep acking→publishing 0 [1]',
    'changed persisting→publishing 10',
    'microstep publishing→done 25 [1]',
    'changed publishing→done 25',
    'ended done 35',
  ]);
  const [started] = events;
  const { actor: observed } = started!;
  t.like(observed, {
    machine: 'delivery',
    kind: 'delivery',
    systemId: undefined,
    name: 'delivery',
    queue: 'user_queue',
    initial: 'receiving',
    startedAt: 0,
    state: 'done',
    since: 35,
    step: 'done',
    stepSince: 35,
    ended: true,
  });
  t.is(observed.owner, users, 'named by the consumer of its queue');
  t.true(
    events.every((event) => event.actor === observed),
    'one record per actor, in every event about it',
  );
  t.is(((events[2] as StateChanged).context.deliveries as Delivery[])[0]!.messageId, 'm-1');
});

test('an event kind no listener takes is not decoded: without microsteps, an actor starts at its first snapshot', async (t) => {
  const clock = fakeClock();
  const events: ObservedEvent[] = [];
  const inspect = createDecoder({
    consumers,
    listeners: [{ started: (event) => events.push(event), changed: (event) => events.push(event) }],
    now: clock.now,
  });
  const { logic, release } = steppedDelivery(clock);
  const actor = createActor(logic, {
    input: { deliveries: [deliveryOf('user_queue', 'm-2')], maxAttempts: 3 },
    inspect,
  });
  actor.start();
  await release(10);
  await release(35);
  await toPromise(actor);
  t.deepEqual(events.map(line), [
    'started delivery in persisting',
    'changed (first)→persisting',
    'changed persisting→publishing 10',
    'changed publishing→done 25',
  ]);
});

test('every listener is handed the same event, made once; one that throws reaches neither the actor nor the others', async (t) => {
  const seen: [string, ObservedEvent][] = [];
  const throwing: ObservationListener = {
    changed: () => {
      throw new Error('observer bug');
    },
    ended: () => {
      throw new Error('observer bug');
    },
  };
  const inspect = createDecoder({
    consumers,
    listeners: [
      { changed: (event) => seen.push(['first', event]) },
      throwing,
      { changed: (event) => seen.push(['second', event]) },
    ],
  });
  const logic = deliveryMachine.provide({
    actions: {
      persist: persistStep(async () => ({
        duplicates: [false],
        outgoing: [],
        results: [undefined],
      })),
      decode: assign({ decoded: [{ key: 'user:1', message: {} }] }),
      ack: () => {},
      nack: () => {},
    },
  });
  const actor = createActor(logic, {
    input: { deliveries: [deliveryOf('user_queue', 'm-3')], maxAttempts: 3 },
    inspect,
  });
  actor.start();
  t.is((await toPromise(actor)).outcome, 'acked');
  t.deepEqual(
    seen.map(([who, event]) => `${who} ${line(event)}`.replace(/ [\d.]+$/, '')),
    [
      'first changed (first)→persisting',
      'second changed (first)→persisting',
      'first changed persisting→done',
      'second changed persisting→done',
    ],
  );
  t.is(seen[0]![1], seen[1]![1]);
  t.is(seen[2]![1], seen[3]![1]);
});

test('a consumer is named by its queue; a delivery of a queue not observed has no owner; promises are not followed', async (t) => {
  const { events, listener } = recorder();
  const inspect = createDecoder({ consumers, listeners: [listener] });
  const logic = consumerMachine.provide({
    actors: {
      subscribe: fromPromise(async () => {}),
      drain: fromPromise(async () => {}),
    },
  });
  const consumer = createActor(logic, { input: { queue: 'user_queue' }, systemId: 'consumer:card', inspect });
  consumer.start();
  await new Promise((resolve) => setImmediate(resolve));
  consumer.send({ type: 'STOP' });
  await toPromise(consumer);

  const stranger = deliveryMachine.provide({
    actions: {
      decode: assign({ failure: { kind: 'poison' as const, reason: 'not JSON' }, error: 'not JSON', attempts: 1 }),
      ack: () => {},
      nack: () => {},
    },
    actors: { deadLetter: fromPromise(async () => {}) },
  });
  const delivery = createActor(stranger, {
    input: { deliveries: [deliveryOf('elsewhere', 'm-4')], maxAttempts: 3 },
    inspect,
  });
  delivery.start();
  await toPromise(delivery);

  const machines = new Set(events.map((event) => event.actor.machine));
  t.deepEqual([...machines], ['consumer', 'delivery'], 'the invoked promises are no machines: nothing about them');
  const consumerEvents = events.filter((event) => event.actor.machine === 'consumer');
  t.like(consumerEvents[0]!.actor, {
    kind: 'consumer',
    systemId: 'consumer:card',
    name: 'consumer:card',
    queue: 'user_queue',
  });
  t.is(consumerEvents[0]!.actor.owner, users);
  t.deepEqual(
    consumerEvents.filter((event) => event.type === 'changed').map((event) => `${event.from}→${event.to}`),
    ['null→subscribing', 'subscribing→consuming', 'consuming→draining', 'draining→stopped'],
  );
  const deliveryEvents = events.filter((event) => event.actor.machine === 'delivery');
  t.like(deliveryEvents[0]!.actor, { queue: 'elsewhere', owner: undefined });
  t.deepEqual(
    deliveryEvents.filter((event) => event.type === 'microstep').map((event) => event.to),
    ['deadLettering', 'acking', 'done'],
  );
});

const counter = setup({
  types: { context: {} as { count: number }, events: {} as { type: 'TOUCH' | 'AGAIN' } },
}).createMachine({
  id: 'counter',
  context: { count: 0 },
  initial: 'counting',
  states: {
    counting: {
      on: {
        TOUCH: { actions: assign({ count: ({ context }) => context.count + 1 }) },
        AGAIN: { target: 'counting', reenter: true },
      },
    },
  },
});

test('a context-only snapshot is an update; a re-entry is a microstep that moved and stayed; stopping ends', async (t) => {
  const clock = fakeClock();
  const { events, listener } = recorder();
  const inspect = createDecoder({ listeners: [listener], now: clock.now });
  const actor = createActor(counter, { systemId: 'counter:1', inspect }).start();
  clock.ms = 5;
  actor.send({ type: 'TOUCH' });
  clock.ms = 7;
  actor.send({ type: 'AGAIN' });
  clock.ms = 9;
  actor.stop();
  actor.send({ type: 'TOUCH' }); // stopped: nothing more
  t.deepEqual(events.map(line), [
    'started counter in counting',
    'changed (first)→counting',
    'microstep counting→counting (stayed) [1]',
    'updated counting',
    'microstep counting→counting 7 [1]',
    'updated counting',
    'microstep counting→counting (stayed) [0]',
    'updated counting',
    'ended stopped 9',
  ]);
  t.is((events[3] as ContextChanged).context.count, 1);
  t.true((events[4] as Microstep).moved);
  t.like(events[0]!.actor, { kind: 'other', name: 'counter:1', owner: undefined, queue: undefined });
});

test('a machine that fails ends in error', async (t) => {
  const { events, listener } = recorder();
  const failing = setup({
    actors: {
      work: fromPromise(async () => {
        throw new Error('bug');
      }),
    },
  }).createMachine({ id: 'failing', initial: 'working', states: { working: { invoke: { src: 'work' } } } });
  const actor = createActor(failing, { inspect: createDecoder({ listeners: [listener] }) });
  actor.subscribe({ error: () => {} });
  actor.start();
  await sleep(10);
  const ended = events.filter((event) => event.type === 'ended');
  t.is(ended.length, 1);
  t.like(ended[0], { status: 'error', actor: { machine: 'failing', state: 'working', ended: true } });
});
