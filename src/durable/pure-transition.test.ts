import test from 'ava';
import { assign, initialTransition, raise, setup, transition } from 'xstate';
import { pureInitialTransition, pureTransition } from './pure-transition.js';

const machine = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'go' } | { type: 'stop' } },
}).createMachine({
  id: 'm',
  context: { n: 0 },
  initial: 'idle',
  states: {
    idle: {
      entry: raise({ type: 'stop' }, { delay: 1_000, id: 'nudge' }),
      on: { go: { target: 'busy', actions: assign({ n: ({ context }) => context.n + 1 }) } },
    },
    busy: { after: { 500: 'idle' }, on: { stop: 'idle' } },
  },
});

const typesOf = (actions: readonly { type: string }[]) => actions.map((action) => action.type);

test("the same snapshots and actions as XState's own transition() and initialTransition()", (t) => {
  const [initial, entry] = initialTransition(machine);
  const [pureInitial, pureEntry] = pureInitialTransition(machine);
  t.deepEqual(pureInitial.value, initial.value);
  t.deepEqual(typesOf(pureEntry), typesOf(entry));

  const [next, actions] = transition(machine, initial, { type: 'go' });
  const [pureNext, pureActions] = pureTransition(machine, pureInitial, { type: 'go' });
  t.deepEqual([pureNext.value, pureNext.context], [next.value, next.context]);
  t.deepEqual(typesOf(pureActions), typesOf(actions));
  t.true(pureActions.length > 0, 'the step has actions to compare (the cancel of the nudge, the after delay)');
});

test('each call collects only its own actions, and the cached initial snapshot stays as it was', (t) => {
  const [initial] = pureInitialTransition(machine);
  const [first, firstActions] = pureTransition(machine, initial, { type: 'go' });
  const [, secondActions] = pureTransition(machine, first, { type: 'stop' });
  t.false(
    secondActions.some((action) => firstActions.includes(action)),
    'no action of the first call in the second',
  );
  t.is(pureInitialTransition(machine)[0], initial, 'computed once');
  t.deepEqual([initial.value, initial.context], ['idle', { n: 0 }]);
  const [, ignored] = pureTransition(machine, initial, { type: 'stop' });
  t.deepEqual(ignored, [], 'an event no transition takes collects nothing');
});
