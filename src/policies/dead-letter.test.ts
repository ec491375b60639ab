import test from 'ava';
import { deadLetterHeader, deadLetterHeaders } from './dead-letter.js';

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
