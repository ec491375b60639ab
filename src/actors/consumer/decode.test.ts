import test from 'ava';
import type { ConsumeMessage } from 'amqplib';
import type { Consumer } from '../../api/consumer.js';
import type { Delivery } from '../../machines/delivery.js';
import { attemptReasonsHeader, delayedFromHeader } from '../../policies/delayed-retry.js';
import { decodeBatch, toDelivery } from './decode.js';

const message = (properties: Record<string, unknown>, fields: Partial<ConsumeMessage['fields']> = {}) =>
  ({
    content: Buffer.from('{}'),
    fields: { deliveryTag: 7, redelivered: false, exchange: 'users', routingKey: 'created', ...fields },
    properties,
  }) as unknown as ConsumeMessage;

/** Accepts `{ id }` bodies, keyed `user:<id>`. */
const consumer = {
  decode: (body: unknown) =>
    typeof (body as { id?: unknown }).id === 'string'
      ? { ok: true as const, key: `user:${(body as { id: string }).id}`, message: body }
      : { ok: false as const, reason: 'id: expected a string' },
} as unknown as Consumer<unknown>;

const delivery = (content: Uint8Array): Delivery => ({ ...toDelivery('q', message({})), content });
const text = (body: string) => delivery(Buffer.from(body));

test('a delivery keeps where it was published, and only a usable message id', (t) => {
  const plain = toDelivery('q', message({ messageId: 'm-1', contentType: 'application/json', headers: { a: 1 } }));
  t.like(plain, { queue: 'q', exchange: 'users', routingKey: 'created', deliveryTag: 7, messageId: 'm-1' });
  t.deepEqual(plain.headers, { a: 1 });
  t.is(toDelivery('q', message({ messageId: '' })).messageId, undefined);
  t.is(toDelivery('q', message({ messageId: 'x'.repeat(256) })).messageId, undefined);
  t.is(toDelivery('q', message({ messageId: 42 })).messageId, undefined);
  t.deepEqual(toDelivery('q', message({ headers: null })).headers, {});
});

test('back from a delay queue, a delivery names where it was first published', (t) => {
  const headers = {
    [attemptReasonsHeader]: ['timeout'],
    'x-death': [{ queue: 'q.retry.10s', reason: 'expired' }],
    [delayedFromHeader.exchange]: 'users',
    [delayedFromHeader.routingKey]: 'created',
  };
  const back = toDelivery('q', message({ headers }, { exchange: '', routingKey: 'q' }));
  t.like(back, { exchange: 'users', routingKey: 'created' });
  // The same headers on a message that did not come through the default exchange change nothing.
  t.like(toDelivery('q', message({ headers }, { exchange: 'other', routingKey: 'k' })), {
    exchange: 'other',
    routingKey: 'k',
  });
});

test('a batch decodes every body in order, keyed by its consumer', (t) => {
  t.deepEqual(decodeBatch([text('{"id":"a"}'), text('{"id":"b"}')], consumer, 1024), {
    decoded: [
      { key: 'user:a', message: { id: 'a' } },
      { key: 'user:b', message: { id: 'b' } },
    ],
  });
});

test('a body that cannot be read is poison, with the reason its dead letter carries', (t) => {
  const reasonOf = (body: Delivery) => {
    const result = decodeBatch([text('{"id":"ok"}'), body], consumer, 64);
    return 'failure' in result ? result.failure : undefined;
  };
  t.deepEqual(reasonOf(text('{"id":1}')), { kind: 'poison', reason: 'id: expected a string' });
  t.regex(reasonOf(text('this is { not JSON'))!.reason, /^body is not JSON: /);
  t.regex(reasonOf(delivery(Uint8Array.from([0x7b, 0xff, 0x7d])))!.reason, /^body is not JSON: /);
  t.deepEqual(reasonOf(text(`{"id":"${'x'.repeat(100)}"}`)), {
    kind: 'poison',
    reason: 'body of 109 bytes exceeds the limit of 64 bytes',
  });
});
