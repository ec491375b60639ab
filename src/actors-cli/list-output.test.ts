import test from 'ava';
import type { ActorInstanceSummary } from '../db/actor-queries.js';
import { formatInstanceList, formatNoneInState, noSuchActorMessage } from './list-output.js';

const at = (time: string) => new Date(`2026-12-08T${time}Z`);
const instance = (overrides: Partial<ActorInstanceSummary>): ActorInstanceSummary => ({
  actor: 'card-activation',
  instanceId: 'card-1',
  state: 'waiting',
  rowVersion: 1,
  definitionVersion: 1,
  status: 'active',
  createdAt: at('10:00:00.123'),
  updatedAt: at('10:00:00.123'),
  closedAt: null,
  ...overrides,
});

const rows = [
  instance({ instanceId: 'card-22', state: 'payment.pending', definitionVersion: 12 }),
  instance({ status: 'done', state: 'active', rowVersion: 3, updatedAt: at('11:00:00'), closedAt: at('11:00:00') }),
];

test('a count, a header and one aligned line per instance', (t) => {
  t.is(
    formatInstanceList({ actor: 'card-activation', state: undefined, instances: rows, limit: 50, more: false }),
    [
      '2 instances of card-activation',
      'ID       STATE            STATUS  VERSION  ROW  CREATED               UPDATED               CLOSED',
      'card-22  payment.pending  active  12       1    2026-12-08T10:00:00Z  2026-12-08T10:00:00Z  -',
      'card-1   active           done    1        3    2026-12-08T10:00:00Z  2026-12-08T11:00:00Z  2026-12-08T11:00:00Z',
      '',
    ].join('\n'),
  );
});

test('one instance in a state; more than the limit says so', (t) => {
  const one = formatInstanceList({ actor: 'a', state: 'waiting', instances: rows.slice(0, 1), limit: 5, more: false });
  t.regex(one, /^1 instance of a in state waiting\n/);
  const cut = formatInstanceList({ actor: 'a', state: undefined, instances: rows, limit: 2, more: true });
  t.regex(cut, /^the newest 2 instances of a\n/);
  t.regex(cut, /\nmore exist: raise --limit \(now 2\) or narrow with --state\n$/);
  const cutInState = formatInstanceList({ actor: 'a', state: 's', instances: rows, limit: 2, more: true });
  t.regex(cutInState, /\nmore exist: raise --limit \(now 2\)\n$/);
});

test('ids and states from messages are escaped', (t) => {
  const text = formatInstanceList({
    actor: 'a',
    state: undefined,
    instances: [instance({ instanceId: 'x\u001b]0;owned\u0007' })],
    limit: 5,
    more: false,
  });
  t.false(text.includes('\u001b'));
  t.true(text.includes('x\\u001b]0;owned\\u0007'));
});

test('an empty state names the states there are; an unknown actor is explained', (t) => {
  t.is(
    formatNoneInState('a', 'expired', [
      { actor: 'a', state: 'active', count: 3 },
      { actor: 'a', state: 'waiting', count: 12 },
    ]),
    'no instances of a in state expired (by state: active 3, waiting 12)\n',
  );
  t.regex(
    noSuchActorMessage('nope'),
    /^no instances of actor nope in this database \(is it the name given to defineActor/,
  );
});
