import test from 'ava';
import { attemptsKeyOf, deadLetterHeader, deadLetterHeaders, replayHeader } from './dead-letter.js';

const source = {
  queue: 'user_queue',
  messageId: 'm-1',
  contentType: 'application/json',
  redelivered: true,
  headers: { 'x-trace': 'abc' },
};

test('a dead letter records reason, kind, attempts, origin and time, and keeps the original headers', (t) => {
  const headers = deadLetterHeaders(source, { kind: 'poison', reason: 'body is not JSON' }, 1, new Date(0));
  t.is(headers['x-trace'], 'abc');
  t.is(headers[deadLetterHeader.reason], 'body is not JSON');
  t.is(headers[deadLetterHeader.kind], 'poison');
  t.is(headers[deadLetterHeader.attempts], 1);
  t.is(headers[deadLetterHeader.queue], 'user_queue');
  t.is(headers[deadLetterHeader.messageId], 'm-1');
  t.is(headers[deadLetterHeader.redelivered], true);
  t.is(headers[deadLetterHeader.deadLetteredAt], '1970-01-01T00:00:00.000Z');
});

test('the runtime headers win over original headers of the same name', (t) => {
  const spoofed = { ...source, headers: { [deadLetterHeader.attempts]: 99 } };
  t.is(deadLetterHeaders(spoofed, { kind: 'transient', reason: 'x' }, 5)[deadLetterHeader.attempts], 5);
});

test('a very long reason is cut short', (t) => {
  const reason = 'x'.repeat(10_000);
  const recorded = deadLetterHeaders(source, { kind: 'transient', reason }, 5)[deadLetterHeader.reason] as string;
  t.true(recorded.length <= 2_001);
});

test('original headers too large or not encodable are dropped, with the reason, so the dead letter can be published', (t) => {
  const failure = { kind: 'poison', reason: 'body is not JSON' } as const;
  const source = { queue: 'q', messageId: undefined, contentType: undefined, redelivered: false };
  const huge = Object.fromEntries(Array.from({ length: 1_613 }, (_, i) => [`h${i}`, `value-${i}-${'x'.repeat(20)}`]));
  const big = deadLetterHeaders({ ...source, headers: huge }, failure, 1);
  t.is(big.h0, undefined);
  t.regex(String(big[deadLetterHeader.headersDropped]), /over \d+ bytes/);
  t.is(big[deadLetterHeader.reason], 'body is not JSON');
  const typed = deadLetterHeaders({ ...source, headers: { nested: { '!': 'nonsense', value: 1 } } }, failure, 1);
  t.regex(String(typed[deadLetterHeader.headersDropped]), /not encodable/);
  const small = deadLetterHeaders({ ...source, headers: { 'x-origin': 'test' } }, failure, 1);
  t.is(small['x-origin'], 'test');
  t.is(small[deadLetterHeader.headersDropped], undefined);
});

test('a replayed dead letter counts its attempts under a key of its own replay; anything else under its key', (t) => {
  t.is(attemptsKeyOf('user:1', {}), 'user:1');
  t.is(attemptsKeyOf('user:1', { [replayHeader.count]: 1 }), 'user:1#replay-1');
  t.is(attemptsKeyOf('user:1', { [replayHeader.count]: 3 }), 'user:1#replay-3');
  // Forged or damaged headers fall back to the message's own count.
  t.is(attemptsKeyOf('user:1', { [replayHeader.count]: '2' }), 'user:1');
  t.is(attemptsKeyOf('user:1', { [replayHeader.count]: 0 }), 'user:1');
  t.is(attemptsKeyOf('user:1', { [replayHeader.count]: 1.5 }), 'user:1');
});

test('a dead letter carries the reason of every counted attempt, or its own reason alone', (t) => {
  const failure = { kind: 'transient', reason: 'deadlock detected' } as const;
  t.deepEqual(deadLetterHeaders(source, failure, 1)[deadLetterHeader.attemptReasons], ['deadlock detected']);
  const reasons = ['timeout', 'deadlock detected'];
  t.deepEqual(deadLetterHeaders(source, failure, 2, new Date(0), reasons)[deadLetterHeader.attemptReasons], reasons);
  const stale = { ...source, headers: { [deadLetterHeader.attemptReasons]: ['from an earlier hop'] } };
  t.deepEqual(deadLetterHeaders(stale, failure, 2, new Date(0), reasons)[deadLetterHeader.attemptReasons], reasons);
});
