import test from 'ava';
import { setup } from 'xstate';
import { z } from 'zod';
import { defineActor } from '../api/actor.js';
import { defineExchange } from '../api/destination.js';
import { OptionsError, resolveOptions } from '../api/options.js';
import { defineService, type Service, type ServiceActor } from '../api/service.js';
import { planRuntime } from './plan.js';

const url = 'postgres://postgres@127.0.0.1:5432/plan_actors_test';
const cards = defineExchange({ name: 'cards', type: 'topic' });
const machine = setup({ types: { events: {} as { type: 'issued' } | { type: 'activated' } } }).createMachine({
  initial: 'new',
  states: { new: { on: { issued: 'waiting' } }, waiting: { on: { activated: 'active' } }, active: { type: 'final' } },
});
const activation = defineActor(machine).with({
  name: 'activation',
  version: 1,
  events: [
    {
      queue: 'card_queue',
      schema: z.object({ id: z.string() }),
      id: (m) => m.id,
      starts: true,
      event: () => ({ type: 'issued' }),
    },
    {
      exchange: cards,
      routingKey: 'card.*',
      schema: z.object({ id: z.string() }),
      id: (m) => m.id,
      event: () => ({ type: 'activated' }),
    },
  ],
  publishes: [{ queue: 'email_queue' }],
});

const service = (name: string, actors: readonly ServiceActor[], database = url) =>
  defineService({ name, database: { url: database }, actors });
const plan = (services: readonly Service[]) =>
  planRuntime(resolveOptions({ broker: { urls: 'amqp://127.0.0.1' }, services }));

test('an actor compiles to a consumer per source and one for its timers, with their queues and bindings', (t) => {
  const planned = plan([service('cards', [activation])]);
  t.deepEqual(
    planned.consumers.map((consumer) => [consumer.name, consumer.queue]),
    [
      ['activation:card_queue', 'card_queue'],
      ['activation:cards.activation.cards.card.any', 'cards.activation.cards.card.any'],
      ['activation:cards.activation.timers', 'cards.activation.timers'],
    ],
  );
  t.deepEqual(planned.topology.bindings, [
    { queue: 'cards.activation.cards.card.any', exchange: 'cards', routingKey: 'card.*' },
  ]);
  t.true(planned.topology.queues.includes('email_queue'), 'the destinations it publishes to are declared');
  t.deepEqual(
    planned.actors.map((actor) => [actor.service, actor.definition.name, actor.timerQueue]),
    [['cards', 'activation', 'cards.activation.timers']],
  );
});

test('two services sharing a database cannot define one actor name; a value not made by defineActor is refused', (t) => {
  const error = t.throws(() => plan([service('a', [activation]), service('b', [activation])]), {
    instanceOf: OptionsError,
  });
  t.regex(error.message, /services\.b\.actors\.activation: a already has an actor activation in its database/);
  t.regex(error.message, /queue card_queue is already consumed/);
  const fake = t.throws(() => plan([service('c', [{ name: 'x', version: 1 }])]), { instanceOf: OptionsError });
  t.regex(fake.message, /services\.c\.actors\[0\]: an actor must be made by defineActor/);
});
