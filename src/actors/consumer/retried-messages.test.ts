import test from 'ava';
import type { Channel, Message } from 'amqplib';
import { maxRetriedPerChannel, RetriedMessages } from './retried-messages.js';

const channel = () => ({}) as Channel;
const message = (body: string, messageId?: string) =>
  ({ content: Buffer.from(body), properties: { messageId }, fields: {} }) as unknown as Message;

test('a message nacked for a retry is known once when it comes back on the same channel', (t) => {
  const retried = new RetriedMessages();
  const first = channel();
  retried.add(first, message('{"id":1}', 'm-1'));

  t.false(retried.take(channel(), message('{"id":1}', 'm-1')), 'another channel: a redelivery after a loss');
  t.false(retried.take(first, message('{"id":2}', 'm-1')), 'same id, another body');
  t.false(retried.take(first, message('{"id":1}', 'm-2')), 'same body, another id');
  t.true(retried.take(first, message('{"id":1}', 'm-1')));
  t.false(retried.take(first, message('{"id":1}', 'm-1')), 'taken once');
});

test('two nacks of the same message are two returns; messages without an id are known by their body', (t) => {
  const retried = new RetriedMessages();
  const only = channel();
  retried.add(only, message('same'));
  retried.add(only, message('same'));

  t.true(retried.take(only, message('same')));
  t.true(retried.take(only, message('same')));
  t.false(retried.take(only, message('same')));
});

test('beyond the bound, the oldest is forgotten (it comes back to run alone)', (t) => {
  const retried = new RetriedMessages();
  const only = channel();
  for (let index = 0; index <= maxRetriedPerChannel; index += 1) retried.add(only, message(`m-${index}`));

  t.false(retried.take(only, message('m-0')));
  t.true(retried.take(only, message('m-1')));
  t.true(retried.take(only, message(`m-${maxRetriedPerChannel}`)));
});
