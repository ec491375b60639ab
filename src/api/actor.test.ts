import test from 'ava';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineActor } from './actor.js';
import { defineExchange } from './destination.js';
import { OptionsError } from './options.js';

type CardEvent = { type: 'card.issued'; card: { id: string } } | { type: 'card.activated' };
const machine = setup({ types: { events: {} as CardEvent } }).createMachine({
  initial: 'waiting',
  states: { waiting: { on: { 'card.activated': 'active' } }, active: { type: 'final' } },
});
const cards = defineExchange({ name: 'cards', type: 'topic' });
const cardMessage = z.object({ id: z.string().min(1) });
const activated = z.object({ cardId: z.string() });
const issuedSource = {
  queue: 'card_queue',
  schema: cardMessage,
  id: (card: { id: string }) => card.id,
  starts: true,
  event: (card: { id: string }) => ({ type: 'card.issued', card }) as const,
};

test('a definition is frozen, with each source’s origin, policy and label', (t) => {
  const definition = defineActor(machine).with({
    name: 'card-activation',
    version: 1,
    events: [
      issuedSource,
      {
        exchange: cards,
        routingKey: 'card.activated',
        schema: activated,
        id: (m) => m.cardId,
        event: () => ({ type: 'card.activated' }),
      },
    ],
  });
  t.true(Object.isFrozen(definition));
  t.is(definition.machine, machine);
  t.deepEqual(
    definition.sources.map(({ origin, whenMissing, label }) => ({ origin, whenMissing, label })),
    [
      { origin: { queue: 'card_queue' }, whenMissing: 'start', label: 'queue card_queue' },
      {
        origin: { exchange: cards, routingKey: 'card.activated' },
        whenMissing: 'dead-letter',
        label: 'exchange cards (card.activated)',
      },
    ],
  );
});

test('decode validates the body, and gives the instance id and the event, or the reason', (t) => {
  const [source] = defineActor(machine).with({ name: 'a', version: 1, events: [issuedSource] }).sources;
  t.deepEqual(source!.decode({ id: 'c-1' }), {
    ok: true,
    instanceId: 'c-1',
    event: { type: 'card.issued', card: { id: 'c-1' } },
  });
  t.deepEqual(source!.decode({ id: '' }), {
    ok: false,
    reason: 'body fails validation: id: Too small: expected string to have >=1 characters',
  });
  t.deepEqual(source!.decode('nope'), {
    ok: false,
    reason: 'body fails validation: body: Invalid input: expected object, received string',
  });
});

test('decode refuses an empty id, a throwing id() and an event that is not plain JSON', (t) => {
  const decodeWith = (id: (m: { cardId: string }) => string, event: () => CardEvent) =>
    defineActor(machine)
      .with({ name: 'a', version: 1, events: [{ queue: 'q', schema: activated, id, event, starts: true }] })
      .sources[0]!.decode({ cardId: '' });
  t.like(
    decodeWith(
      (m) => m.cardId,
      () => ({ type: 'card.activated' }),
    ),
    { ok: false, reason: 'no instance id for the message: id() returned an empty or non-string value' },
  );
  t.like(
    decodeWith(
      () => {
        throw new Error('boom');
      },
      () => ({ type: 'card.activated' }),
    ),
    { ok: false, reason: 'no instance id or event for the message: boom' },
  );
  t.like(
    decodeWith(
      () => 'x',
      () => ({ type: 'card.issued', card: { id: new Date(0) as unknown as string } }),
    ),
    { ok: false, reason: 'no event for the message: event.card.id is a Date' },
  );
});

test('a bad definition is refused with every problem named', (t) => {
  const error = t.throws(
    () =>
      defineActor(machine).with({
        name: '9 lives',
        version: 1.5,
        events: [
          { ...issuedSource, starts: false },
          { ...issuedSource, starts: false, whenMissing: 'ignore' },
          {
            exchange: cards,
            schema: activated,
            id: (m) => m.cardId,
            event: () => ({ type: 'card.activated' }),
            starts: true,
            whenMissing: 'ignore',
          },
        ],
      }),
    { instanceOf: OptionsError },
  );
  t.is(
    error.message,
    'invalid actor 9 lives: name must be a letter, then up to 62 letters, digits, _ and -; version must be a ' +
      'positive integer; no source starts an instance: mark one with starts: true; events[2]: starts: true ' +
      "contradicts whenMissing: 'ignore'; events[1]: queue card_queue is already events[0]",
  );
  t.throws(() => defineActor(machine).with({ name: 'a', version: 1, events: [] }), {
    instanceOf: OptionsError,
    message: 'invalid actor a: events must list at least one source',
  });
  t.throws(() => defineActor(machine).with({ name: 'a', version: 1, events: [{ ...issuedSource, queue: 'amq.x' }] }), {
    message: /events\[0\]: queue "amq.x" must not start with amq\./,
  });
});

test('types: events are checked against the machine, messages against each schema', (t) => {
  defineActor(machine).with({
    name: 'a',
    version: 1,
    events: [
      // @ts-expect-error the machine has no such event
      { queue: 'q', schema: activated, id: (m) => m.cardId, starts: true, event: () => ({ type: 'card.lost' }) },
      // @ts-expect-error the message has no such field
      { queue: 'r', schema: activated, id: (m) => m.id, event: () => ({ type: 'card.activated' }) },
      // @ts-expect-error card.issued carries a card
      { queue: 's', schema: activated, id: (m) => m.cardId, event: () => ({ type: 'card.issued' }) },
    ],
  });
  t.pass();
});
