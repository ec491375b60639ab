import test from 'ava';
import { assign, cancel, fromPromise, raise, sendTo, setup, type AnyEventObject } from 'xstate';
import { z } from 'zod';
import { defineActor, type ActorDefinition } from '../api/actor.js';
import { defineExchange } from '../api/destination.js';
import { OptionsError } from '../api/options.js';
import { ActorStepError } from './errors.js';
import { publish } from './publish.js';
import type { StoredActor } from './snapshot.js';
import { stepActor, type AcceptedStep, type ActorStep } from './step.js';

const day = 86_400_000;
const now = new Date('2026-03-01T00:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);
const cards = defineExchange({ name: 'cards', type: 'topic' });

type CardEvent =
  | { type: 'card.issued'; card: { id: string; email: string } }
  | { type: 'card.activated'; by: string }
  | { type: 'card.reissued' };

const cardMachine = setup({
  types: { context: {} as { cardId: string; email: string; reminders: number }, events: {} as CardEvent },
  delays: { reminder: 2 * day },
}).createMachine({
  id: 'card',
  context: { cardId: '', email: '', reminders: 0 },
  initial: 'new',
  states: {
    new: {
      entry: publish({ queue: 'audit_queue' }, { event: 'created' }),
      on: {
        'card.issued': {
          target: 'waiting',
          actions: assign(({ event }) => ({ cardId: event.card.id, email: event.card.email })),
        },
      },
    },
    waiting: {
      after: {
        reminder: { target: 'reminded', actions: assign({ reminders: ({ context }) => context.reminders + 1 }) },
      },
      on: { 'card.activated': 'active', 'card.reissued': { target: 'waiting', reenter: true } },
    },
    reminded: {
      entry: publish({ queue: 'email_queue' }, ({ context }) => ({ to: context.email, template: 'activate' })),
      after: { [5 * day]: 'expired' },
      on: { 'card.activated': 'active' },
    },
    active: {
      type: 'final',
      entry: publish({ exchange: cards, routingKey: 'card.active' }, ({ context, event }) => ({
        cardId: context.cardId,
        by: event.type === 'card.activated' ? event.by : 'unknown',
      })),
    },
    expired: { type: 'final' },
  },
});

const card = z.object({ id: z.string(), email: z.string() });
const activation = defineActor(cardMachine).with({
  name: 'card-activation',
  version: 1,
  events: [
    {
      queue: 'card_queue',
      schema: card,
      id: (c) => c.id,
      starts: true,
      event: (c) => ({ type: 'card.issued', card: c }),
    },
  ],
  publishes: [{ queue: 'audit_queue' }, { queue: 'email_queue' }, { exchange: cards, routingKey: 'card.active' }],
});

const reminderTimer = 'xstate.after.reminder.card.waiting';
const expiryTimer = `xstate.after.${5 * day}.card.reminded`;
const issued: CardEvent = { type: 'card.issued', card: { id: 'c-1', email: 'ada@example.com' } };

function acceptedStep(step: ActorStep): AcceptedStep {
  if (!step.accepted) throw new Error(`refused: ${step.reason}`);
  return step;
}

function storedOf(step: ActorStep): StoredActor {
  const { snapshot, version } = acceptedStep(step);
  return { snapshot, version };
}

/** Starts an instance and moves it on with `events`, each a day after the previous, as the runtime would. */
function run(definition: ActorDefinition, ...events: AnyEventObject[]): AcceptedStep {
  let step = acceptedStep(stepActor(definition, undefined, issued, { now }));
  for (const [index, event] of events.entries()) {
    step = acceptedStep(stepActor(definition, storedOf(step), event, { now: later((index + 1) * day) }));
  }
  return step;
}

test("a start takes the initial state's entry effects, then the event's, and sets the state's timer", (t) => {
  const step = acceptedStep(stepActor(activation, undefined, issued, { now }));
  t.true(step.started);
  t.is(step.from, undefined);
  t.is(step.state, 'waiting');
  t.false(step.done);
  t.is(step.version, 1);
  t.deepEqual(step.publications, [
    { destination: { queue: 'audit_queue' }, body: { event: 'created' }, options: undefined },
  ]);
  t.deepEqual(step.timersToSet, [{ id: reminderTimer, event: { type: reminderTimer }, dueAt: later(2 * day) }]);
  t.deepEqual(step.timersToCancel, []);
  t.like(step.snapshot, { status: 'active', value: 'waiting', context: { cardId: 'c-1', email: 'ada@example.com' } });
});

test('leaving a state cancels its timers, and the next state sets its own', (t) => {
  const step = run(activation, { type: reminderTimer });
  t.is(step.from, 'waiting');
  t.is(step.state, 'reminded');
  t.deepEqual(step.timersToCancel, [reminderTimer]);
  t.deepEqual(step.timersToSet, [{ id: expiryTimer, event: { type: expiryTimer }, dueAt: later(day + 5 * day) }]);
  t.like(step.snapshot, { context: { reminders: 1 } });
});

test('re-entering a state cancels its timer and sets it again from the new time', (t) => {
  const step = run(activation, { type: 'card.reissued' });
  t.is(step.state, 'waiting');
  t.deepEqual(step.timersToCancel, [reminderTimer]);
  t.deepEqual(step.timersToSet, [{ id: reminderTimer, event: { type: reminderTimer }, dueAt: later(day + 2 * day) }]);
});

test('a final state is done, cancels the timers it left, and publishes with bodies from context and event', (t) => {
  const step = run(activation, { type: reminderTimer }, { type: 'card.activated', by: 'app' });
  t.true(step.done);
  t.is(step.state, 'active');
  t.deepEqual(step.timersToCancel, [expiryTimer]);
  t.deepEqual(step.timersToSet, []);
  t.deepEqual(step.publications, [
    {
      destination: { exchange: cards, routingKey: 'card.active' },
      body: { cardId: 'c-1', by: 'app' },
      options: undefined,
    },
  ]);
});

test('entering a state publishes a body computed from its context', (t) => {
  const step = run(activation, { type: reminderTimer });
  t.deepEqual(step.publications, [
    {
      destination: { queue: 'email_queue' },
      body: { to: 'ada@example.com', template: 'activate' },
      options: undefined,
    },
  ]);
});

test('an event no transition of the current state takes changes nothing and says why', (t) => {
  const stored = storedOf(run(activation));
  const before = JSON.stringify(stored);
  const step = stepActor(activation, stored, { type: 'card.issued', card: { id: 'x', email: 'y' } }, { now });
  t.deepEqual(step, {
    accepted: false,
    state: 'waiting',
    reason: "no transition of state 'waiting' takes 'card.issued'",
  });
  t.is(JSON.stringify(stored), before);
});

test('a done instance takes no event', (t) => {
  const stored = storedOf(run(activation, { type: 'card.activated', by: 'app' }));
  const step = stepActor(activation, stored, { type: 'card.activated', by: 'again' }, { now });
  t.like(step, { accepted: false, state: 'active' });
});

test('a start whose event the initial state does not take starts nothing', (t) => {
  const step = stepActor(activation, undefined, { type: 'card.activated', by: 'app' }, { now });
  t.deepEqual(step, {
    accepted: false,
    state: undefined,
    reason: "no transition of the initial state 'new' takes 'card.activated'",
  });
});

test('a snapshot stored as JSON continues exactly as the live one', (t) => {
  const first = run(activation);
  const live = { snapshot: first.snapshot, version: first.version };
  const fromRow = JSON.parse(JSON.stringify(live)) as StoredActor;
  t.not(fromRow.snapshot, live.snapshot);
  for (const event of [{ type: reminderTimer }, { type: 'card.reissued' }, { type: 'card.activated', by: 'x' }]) {
    t.deepEqual(
      stepActor(activation, fromRow, event, { now: later(day) }),
      stepActor(activation, live, event, { now: later(day) }),
    );
  }
});

function actorOf(machine: Parameters<typeof defineActor>[0]): ActorDefinition {
  const go = z.object({ id: z.string() });
  return defineActor(machine).with({
    name: 'probe',
    version: 1,
    events: [{ queue: 'probe_queue', schema: go, id: (m) => m.id, starts: true, event: () => ({ type: 'go' }) }],
  });
}

const go = { type: 'go' };

test('a delayed raise without an id is refused, naming the state', (t) => {
  const machine = setup({ types: { events: {} as { type: 'go' } | { type: 'later' } } }).createMachine({
    initial: 'idle',
    states: { idle: { on: { go: { target: 'busy', actions: raise({ type: 'later' }, { delay: 1_000 }) } } }, busy: {} },
  });
  const error = t.throws(() => stepActor(actorOf(machine), undefined, go, { now }), { instanceOf: ActorStepError });
  t.regex(error.message, /on 'go' starting in 'idle': the delayed raise of 'later' \(1000 ms\) has no id/);
});

test('a delayed event that is not plain JSON is refused', (t) => {
  const machine = setup({
    types: { events: {} as { type: 'go' } | { type: 'later'; at: Date } },
  }).createMachine({
    initial: 'idle',
    states: {
      idle: { on: { go: { actions: raise({ type: 'later', at: new Date(0) }, { delay: 1_000, id: 'later' }) } } },
    },
  });
  const error = t.throws(() => stepActor(actorOf(machine), undefined, go, { now }), { instanceOf: ActorStepError });
  t.regex(error.message, /a delayed event must be plain JSON, since it is stored: event.at is a Date/);
});

test('a delayed send to itself with an id is a timer, and cancel(id) removes it', (t) => {
  const machine = setup({
    types: { events: {} as { type: 'go' } | { type: 'stop' } | { type: 'ping' } },
  }).createMachine({
    initial: 'idle',
    states: {
      idle: {
        on: {
          go: { actions: sendTo(({ self }) => self, { type: 'ping' }, { delay: 500, id: 'ping' }) },
          stop: { actions: cancel('ping') },
        },
      },
    },
  });
  const definition = actorOf(machine);
  const started = acceptedStep(stepActor(definition, undefined, go, { now }));
  t.deepEqual(started.timersToSet, [{ id: 'ping', event: { type: 'ping' }, dueAt: later(500) }]);
  const stopped = acceptedStep(stepActor(definition, storedOf(started), { type: 'stop' }, { now }));
  t.deepEqual(stopped.timersToCancel, ['ping']);
});

test('a custom action is refused: a durable step never executes it', (t) => {
  const machine = setup({ types: { events: {} as { type: 'go' } } }).createMachine({
    initial: 'idle',
    states: { idle: { on: { go: { actions: () => undefined } } } },
  });
  const error = t.throws(() => stepActor(actorOf(machine), undefined, go, { now }), { instanceOf: ActorStepError });
  t.regex(error.message, /runs the action '.*', which a durable step never executes/);
});

test('a context that is not plain JSON is refused', (t) => {
  const machine = setup({ types: { context: {} as { at: Date | null }, events: {} as { type: 'go' } } }).createMachine({
    context: { at: null },
    initial: 'idle',
    states: { idle: { on: { go: { actions: assign({ at: () => new Date(0) }) } } } },
  });
  const error = t.throws(() => stepActor(actorOf(machine), undefined, go, { now }), { instanceOf: ActorStepError });
  t.regex(error.message, /the context must be plain JSON: context.at is a Date/);
});

test('a machine that invokes actors cannot be defined as a durable actor', (t) => {
  const machine = setup({ actors: { fetchCard: fromPromise(async () => 'card') } }).createMachine({
    id: 'fetching',
    initial: 'loading',
    states: { loading: { invoke: { src: 'fetchCard' } } },
  });
  const error = t.throws(() => actorOf(machine), { instanceOf: OptionsError });
  t.regex(error.message, /invokes actors in 'fetching.loading'/);
});

test("migrate brings an older snapshot to the definition's version before its event", (t) => {
  const stored = storedOf(run(activation));
  const v2 = defineActor(cardMachine).with({
    name: 'card-activation',
    version: 2,
    events: [
      {
        queue: 'card_queue',
        schema: card,
        id: (c) => c.id,
        starts: true,
        event: (c) => ({ type: 'card.issued', card: c }),
      },
    ],
    migrate: (snapshot, fromVersion) => ({
      ...snapshot,
      context: { ...(snapshot.context as object), reminders: fromVersion * 10 },
    }),
  });
  const step = acceptedStep(stepActor(v2, stored, { type: reminderTimer }, { now }));
  t.is(step.version, 2);
  t.like(step.snapshot, { context: { reminders: 11 } });
});

test('an instance of a newer version, or in a state the machine lacks, is refused', (t) => {
  const stored = storedOf(run(activation));
  t.throws(() => stepActor(activation, { ...stored, version: 3 }, go, { now }), {
    instanceOf: ActorStepError,
    message: /runs version 3 of card-activation, newer than this definition \(version 1\)/,
  });
  const gone = { ...stored, snapshot: { ...stored.snapshot, value: 'escalated' } };
  t.throws(() => stepActor(activation, gone, go, { now }), {
    instanceOf: ActorStepError,
    message: /cannot be restored: State 'escalated' does not exist on 'card'/,
  });
});
