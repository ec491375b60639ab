import test from 'ava';
import type { ActorInstance, ActorTransition, StoredTimer } from '../db/actor-queries.js';
import { formatInstanceDetails, noSuchInstanceMessage } from './show-output.js';

const at = (time: string) => new Date(`2026-12-08T${time}Z`);
const now = at('12:00:00');

const instance: ActorInstance = {
  actor: 'card-activation',
  instanceId: 'card-1',
  state: 'reminded',
  snapshot: { value: 'reminded' },
  rowVersion: 2,
  definitionVersion: 1,
  status: 'active',
  createdAt: at('10:00:00'),
  updatedAt: at('11:00:00'),
  closedAt: null,
};

const timer = (overrides: Partial<StoredTimer>): StoredTimer => ({
  instanceId: 'card-1',
  timerId: 'xstate.after.5d.reminded',
  token: 't',
  event: { type: 'expire' },
  dueAt: at('14:30:00'),
  sentAt: null,
  ...overrides,
});

const step = (overrides: Partial<ActorTransition>): ActorTransition => ({
  id: '1',
  actor: 'card-activation',
  instanceId: 'card-1',
  eventType: 'card.issued',
  fromState: null,
  toState: 'waiting',
  at: at('10:00:00'),
  messageId: 'm-1',
  published: [],
  ...overrides,
});

test('the row, the timers with due times (relative to now), the history in order', (t) => {
  const text = formatInstanceDetails(
    {
      instance,
      timers: [
        timer({}),
        timer({ timerId: 'late', event: { no: 'type' }, dueAt: at('11:59:30'), sentAt: at('11:59:31') }),
      ],
      history: [
        step({}),
        step({
          id: '2',
          eventType: 'xstate.after.2d.waiting',
          fromState: 'waiting',
          toState: 'reminded',
          at: at('11:00:00'),
          messageId: null,
          published: ['o-1', 'o-2'],
        }),
      ],
      historyCut: false,
    },
    now,
  );
  t.is(
    text,
    [
      'actor:              card-activation',
      'instance:           card-1',
      'state:              reminded',
      'status:             active',
      'definition version: 1',
      'row version:        2',
      'created:            2026-12-08T10:00:00Z',
      'updated:            2026-12-08T11:00:00Z',
      'closed:             -',
      '',
      '2 pending timers',
      'TIMER                     EVENT          DUE                   DUE IN    CLAIMED',
      'xstate.after.5d.reminded  expire         2026-12-08T14:30:00Z  in 2h30m  -',
      'late                      {"no":"type"}  2026-12-08T11:59:30Z  30s ago   2026-12-08T11:59:31Z',
      '',
      'history: 2 transitions, oldest first',
      '#  TIME                  EVENT                    FROM     TO        MESSAGE ID  PUBLISHED',
      '1  2026-12-08T10:00:00Z  card.issued              -        waiting   m-1         -',
      '2  2026-12-08T11:00:00Z  xstate.after.2d.waiting  waiting  reminded  -           o-1,o-2',
      '',
    ].join('\n'),
  );
});

test('a timer whose event is named as the timer (an after delay) does not repeat its id', (t) => {
  const id = 'xstate.after.432000000.card-activation.reminded';
  const text = formatInstanceDetails(
    { instance, timers: [timer({ timerId: id, event: { type: id } })], history: [], historyCut: false },
    now,
  );
  t.true(text.includes(`\nTIMER${' '.repeat(id.length - 3)}EVENT     DUE`));
  t.true(text.includes(`\n${id}  (its id)  2026-12-08T14:30:00Z  in 2h30m  -\n`));
});

test('no timers, no history, a cut history, a closed instance', (t) => {
  const closed = { ...instance, status: 'done' as const, closedAt: at('11:00:00') };
  const empty = formatInstanceDetails({ instance: closed, timers: [], history: [], historyCut: false }, now);
  t.regex(
    empty,
    /\nclosed: {13}2026-12-08T11:00:00Z\n\nno pending timers\n\nno history \(retention may have removed it\)\n$/,
  );
  const cut = formatInstanceDetails({ instance, timers: [], history: [step({})], historyCut: true }, now);
  t.regex(cut, /\nhistory: 1 transition \(the first ones; more were recorded\), oldest first\n/);
});

test('an unknown instance is explained, escaped', (t) => {
  t.is(
    noSuchInstanceMessage('a', 'x\ny'),
    'no instance x\\ny of actor a in this database (closed instances are removed after the deduplication window)',
  );
});
