import test from 'ava';
import { setup } from 'xstate';
import { stateOf, statePaths, unknownStates } from './state-value.js';

test('a state value is one stable string: nested states dotted, parallel regions sorted and comma-joined', (t) => {
  t.is(stateOf('waiting'), 'waiting');
  t.is(stateOf({ review: 'open' }), 'review.open');
  t.is(stateOf({ review: { risk: 'done', legal: 'open' } }), 'review.legal.open,review.risk.done');
  t.deepEqual(statePaths({ review: { risk: {}, legal: 'open' } }), ['review.legal.open', 'review.risk']);
});

test('unknownStates names the states the machine no longer has', (t) => {
  const machine = setup({}).createMachine({
    initial: 'review',
    states: {
      review: {
        type: 'parallel',
        states: { legal: { initial: 'open', states: { open: {} } }, risk: { initial: 'done', states: { done: {} } } },
      },
      closed: {},
    },
  });
  t.deepEqual(
    unknownStates(machine, ['closed', 'review.legal.open,review.risk.done', 'review.legal.signed', 'escalated', '']),
    ['review.legal.signed', 'escalated', ''],
  );
});
