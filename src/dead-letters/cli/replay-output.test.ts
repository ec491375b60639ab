import test from 'ava';
import type { ReplayOutcome } from '../replay.js';
import { formatReplayJson, formatReplayProblems, formatReplaySummary, replaySucceeded } from './replay-output.js';

const base: ReplayOutcome = {
  deadLetterQueue: 'user_queue.dead',
  replayedAt: new Date('2026-11-28T12:00:00.000Z'),
  replayed: [],
  failed: [],
  notFound: [],
  stoppedBecause: undefined,
};

test('the summary says how many, from where, when and to where', (t) => {
  const outcome = {
    ...base,
    replayed: [
      { position: 1, messageId: 'a', queue: 'user_queue' },
      { position: 2, messageId: 'b', queue: 'user_queue' },
      { position: 4, messageId: 'c', queue: 'card_queue' },
    ],
  };
  t.is(
    formatReplaySummary(outcome),
    'replayed 3 of 3 selected dead letters from user_queue.dead at 2026-11-28T12:00:00.000Z (to user_queue: 2, card_queue: 1)\n',
  );
  t.is(formatReplayProblems(outcome), '');
  t.true(replaySucceeded(outcome));
});

test('failures, ids not found and an early stop are reported, and make the replay unsuccessful', (t) => {
  const outcome = {
    ...base,
    failed: [
      {
        position: 3,
        messageId: 'm\u001b',
        queue: 'gone',
        reason: 'unroutable: no queue gone (the broker returned it)',
      },
    ],
    notFound: ['x', 'y'],
    stoppedBecause: 'no confirm within 5000 ms (the outcome is unknown)',
  };
  t.is(
    formatReplaySummary(outcome),
    'replayed 0 of 1 selected dead letter from user_queue.dead at 2026-11-28T12:00:00.000Z\n',
  );
  t.is(
    formatReplayProblems(outcome),
    'not replayed (left in user_queue.dead): position 3, message id m\\u001b, to gone: unroutable: no queue gone (the broker returned it)\n' +
      'not found in user_queue.dead: x, y\n' +
      'stopped early (no confirm within 5000 ms (the outcome is unknown)); the dead letters not yet reached stay in user_queue.dead\n',
  );
  t.false(replaySucceeded(outcome));
  t.false(replaySucceeded({ ...base, notFound: ['x'] }));
  t.like(JSON.parse(formatReplayJson(outcome)), { replayedAt: '2026-11-28T12:00:00.000Z', notFound: ['x', 'y'] });
});

test('nothing selected is said plainly', (t) => {
  t.is(formatReplaySummary(base), 'nothing replayed from user_queue.dead: no dead letter selected\n');
});
