import test from 'ava';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { defineActor } from '../api/actor.js';
import { defineExchange } from '../api/destination.js';
import { publish } from './publish.js';
import { simulateActor } from './test-kit.js';

const day = 86_400_000;
const cards = defineExchange({ name: 'cards', type: 'topic' });

type CardEvent = { type: 'card.issued'; card: { id: string; email: string } } | { type: 'card.activated' };

// waiting --2 days--> reminded --5 days--> expired; card.activated --> active
const cardActivationMachine = setup({
  types: { context: {} as { cardId: string; email: string }, events: {} as CardEvent },
  delays: { reminder: 2 * day, expiry: 5 * day },
}).createMachine({
  id: 'card-activation',
  context: { cardId: '', email: '' },
  initial: 'new',
  states: {
    new: {
      on: {
        'card.issued': {
          target: 'waiting',
          actions: assign(({ event }) => ({ cardId: event.card.id, email: event.card.email })),
        },
      },
    },
    waiting: { after: { reminder: 'reminded' }, on: { 'card.activated': 'active' } },
    reminded: {
      entry: publish({ queue: 'email_queue' }, ({ context }) => ({ to: context.email, cardId: context.cardId })),
      after: { expiry: 'expired' },
      on: { 'card.activated': 'active' },
    },
    active: { type: 'final' },
    expired: { type: 'final' },
  },
});

const activation = defineActor(cardActivationMachine).with({
  name: 'card-activation',
  version: 1,
  events: [
    {
      queue: 'card_queue',
      schema: z.object({ id: z.string(), email: z.string() }),
      id: (card) => card.id,
      starts: true,
      event: (card) => ({ type: 'card.issued', card }),
    },
    {
      exchange: cards,
      routingKey: 'card.activated',
      schema: z.object({ cardId: z.string() }),
      id: (m) => m.cardId,
      event: () => ({ type: 'card.activated' }),
      whenMissing: 'dead-letter',
    },
  ],
  publishes: [{ queue: 'email_queue' }],
});

const start = new Date('2026-03-01T00:00:00Z');
const issue = (id: string) => ({ type: 'card.issued', card: { id, email: `${id}@example.com` } }) as const;

test('waiting --2 days--> reminded --5 days--> expired, without waiting', (t) => {
  const actor = simulateActor(activation, { start });
  actor.send('c-1', issue('c-1'));
  t.is(actor.state('c-1'), 'waiting');
  t.deepEqual(actor.advance(2 * day - 1), []);
  t.is(actor.state('c-1'), 'waiting');
  actor.advance(1);
  t.is(actor.state('c-1'), 'reminded');
  t.deepEqual(actor.publications('c-1'), [
    {
      destination: { queue: 'email_queue' },
      body: { to: 'c-1@example.com', cardId: 'c-1' },
      options: undefined,
      instanceId: 'c-1',
      at: new Date(start.getTime() + 2 * day),
    },
  ]);
  t.deepEqual(
    actor.timers('c-1').map((timer) => timer.dueAt),
    [new Date(start.getTime() + 7 * day)],
  );
  actor.advance(5 * day);
  t.is(actor.state('c-1'), 'expired');
  t.true(actor.done('c-1'));
  t.deepEqual(actor.timers(), []);
});

test('one advance fires the timers a fired timer sets, in due order', (t) => {
  const actor = simulateActor(activation, { start });
  actor.send('c-1', issue('c-1'));
  actor.advance(day);
  actor.send('c-2', issue('c-2'));
  const fired = actor.advance(30 * day);
  t.deepEqual(
    fired.map(({ instanceId, step }) => `${instanceId}:${step.accepted ? step.state : 'refused'}`),
    ['c-1:reminded', 'c-2:reminded', 'c-1:expired', 'c-2:expired'],
  );
  t.deepEqual(actor.now, new Date(start.getTime() + 31 * day));
});

test('card.activated --> active: the pending timer is cancelled and never fires', (t) => {
  const actor = simulateActor(activation, { start });
  actor.send('c-1', issue('c-1'));
  actor.advance(day);
  const reception = actor.receive({ exchange: cards, routingKey: 'card.activated' }, { cardId: 'c-1' });
  t.is(reception.outcome, 'applied');
  t.is(actor.state('c-1'), 'active');
  t.deepEqual(actor.timers('c-1'), []);
  t.deepEqual(actor.advance(10 * day), []);
  t.deepEqual(actor.publications(), []);
});

test("receive follows each source's whenMissing, and dead-letters a body that fails the schema", (t) => {
  const actor = simulateActor(activation, { start });
  const activated = { exchange: cards, routingKey: 'card.activated' };
  t.like(actor.receive(activated, { cardId: 'nobody' }), { outcome: 'dead-lettered' });
  t.is(actor.state('nobody'), undefined);
  t.like(actor.receive(activated, { card: 'c-1' }), { outcome: 'dead-lettered' });
  t.like(actor.receive({ queue: 'card_queue' }, { id: 'c-1', email: 'a@b.c' }), {
    outcome: 'applied',
    instanceId: 'c-1',
  });
  t.like(actor.receive({ queue: 'card_queue' }, { id: 'c-1', email: 'a@b.c' }), {
    outcome: 'ignored',
    reason: "no transition of state 'waiting' takes 'card.issued'",
  });
});

test('a stored snapshot is the JSON the database would give back', (t) => {
  const actor = simulateActor(activation, { start });
  actor.send('c-1', issue('c-1'));
  t.deepEqual(actor.snapshot('c-1'), JSON.parse(JSON.stringify(actor.snapshot('c-1'))));
  t.like(actor.snapshot('c-1'), { value: 'waiting', context: { cardId: 'c-1' } });
});
