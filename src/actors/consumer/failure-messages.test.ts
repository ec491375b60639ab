import test from 'ava';
import type { Delivery } from '../../machines/delivery.js';
import { deadLetterHeader } from '../../policies/dead-letter.js';
import { attemptReasonsHeader, delayedFromHeader } from '../../policies/delayed-retry.js';
import { deadLetterOf, delayedRetryOf } from './failure-messages.js';

const delivery: Delivery = {
  queue: 'user_queue',
  exchange: 'users',
  routingKey: 'created',
  deliveryTag: 3,
  redelivered: true,
  messageId: 'm-1',
  contentType: 'application/json',
  headers: { 'x-trace': 'abc', 'x-delivery-count': 2, 'x-first-death-queue': 'user_queue.retry.10s' },
  content: Buffer.from('{"id":"a"}'),
};

test('a delayed retry goes to the delay queue of its wait, the same message, naming where it was published', (t) => {
  const request = delayedRetryOf(delivery, 60_000, ['timeout', 'timeout again']);
  t.like(request, {
    exchange: '',
    routingKey: 'user_queue.retry.60s',
    messageId: 'm-1',
    contentType: 'application/json',
  });
  t.is(request.body, delivery.content);
  t.deepEqual(request.headers, {
    'x-trace': 'abc',
    [delayedFromHeader.exchange]: 'users',
    [delayedFromHeader.routingKey]: 'created',
    [attemptReasonsHeader]: ['timeout', 'timeout again'],
  });
});

test("a dead letter goes to the queue's dead-letter queue with its reason, attempts and owner", (t) => {
  const request = deadLetterOf(
    { ...delivery, messageId: undefined, contentType: undefined },
    { service: 'card', consumer: 'users' },
    { kind: 'poison', reason: 'body is not JSON' },
    1,
    ['body is not JSON'],
  );
  t.like(request, { exchange: '', routingKey: 'user_queue.dead', contentType: 'application/octet-stream' });
  t.regex(request.messageId, /^[0-9a-f-]{36}$/);
  t.like(request.headers, {
    [deadLetterHeader.reason]: 'body is not JSON',
    [deadLetterHeader.attempts]: 1,
    [deadLetterHeader.service]: 'card',
    [deadLetterHeader.consumer]: 'users',
    [deadLetterHeader.queue]: 'user_queue',
  });
});
