import test from 'ava';
import { deadLetterHeaders, replayHeader } from '../../policies/dead-letter.js';
import { summarizeDeadLetter } from './dead-letter-summary.js';
import { formatListJson, formatListTable } from './list-output.js';

const deadLetteredAt = new Date('2026-11-28T12:00:00.000Z');
const now = new Date('2026-11-28T12:03:12.000Z');

function letter(messageId: string, reason: string, extraHeaders: Record<string, unknown> = {}) {
  const headers = deadLetterHeaders(
    {
      queue: 'user_queue',
      service: 'card',
      consumer: 'issue-cards',
      messageId,
      contentType: 'application/json',
      redelivered: false,
      headers: extraHeaders,
    },
    { kind: 'transient', reason },
    5,
    deadLetteredAt,
  );
  return {
    content: Buffer.from('{"id":"x"}'),
    properties: { messageId, contentType: 'application/json', headers } as never,
  };
}

test('a dead letter is summarised from its headers', (t) => {
  const summary = summarizeDeadLetter(letter('m-1', 'deadlock detected', { [replayHeader.count]: 2 }), 1, now);
  t.deepEqual(summary, {
    position: 1,
    messageId: 'm-1',
    reason: 'deadlock detected',
    failureKind: 'transient',
    attempts: 5,
    originalQueue: 'user_queue',
    service: 'card',
    consumer: 'issue-cards',
    deadLetteredAt: '2026-11-28T12:00:00.000Z',
    ageMs: 192_000,
    size: 10,
    contentType: 'application/json',
    replayCount: 2,
  });
});

test('a message the broker dead-lettered by itself is summarised from its x-first-death headers', (t) => {
  const bare = {
    content: Buffer.alloc(3),
    properties: { headers: { 'x-first-death-reason': 'delivery_limit', 'x-first-death-queue': 'user_queue' } } as never,
  };
  t.like(summarizeDeadLetter(bare, 4, now), {
    messageId: null,
    reason: 'dead-lettered by the broker: delivery_limit',
    originalQueue: 'user_queue',
    attempts: null,
    ageMs: null,
  });
});

test('the table has one line per dead letter, aligned, with the reason escaped and cut short', (t) => {
  const summaries = [
    summarizeDeadLetter(letter('m-1', 'body is not JSON'), 1, now),
    summarizeDeadLetter(letter('a-much-longer-message-id', `evil\u001b[2J\n${'x'.repeat(300)}`), 2, now),
  ];
  const lines = formatListTable('user_queue.dead', summaries).trimEnd().split('\n');
  t.is(lines[0], '2 dead letters in user_queue.dead');
  t.is(lines[1], 'POS  MESSAGE ID                KIND       ATTEMPTS  AGE    SIZE  REPLAYS  REASON');
  t.regex(lines[2]!, /^1 {4}m-1 +transient +5 +3m12s +10 B +0 +body is not JSON$/);
  t.true(lines[3]!.includes('evil\\u001b[2J\\nxxx'));
  t.true(lines[3]!.endsWith('…'));
  t.is(lines.length, 4);
  t.is(lines[2]!.indexOf('transient'), lines[1]!.indexOf('KIND'));
});

test('an empty queue says so', (t) => {
  t.is(formatListTable('q.dead', []), 'no dead letters in q.dead\n');
});

test('the JSON form holds every field, the age in seconds', (t) => {
  const document = JSON.parse(
    formatListJson('user_queue', 'user_queue.dead', [summarizeDeadLetter(letter('m-1', 'r'), 1, now)]),
  );
  t.is(document.count, 1);
  t.is(document.deadLetterQueue, 'user_queue.dead');
  t.like(document.deadLetters[0], {
    position: 1,
    messageId: 'm-1',
    reason: 'r',
    failureKind: 'transient',
    attempts: 5,
    ageSeconds: 192,
    size: 10,
  });
});
