import test from 'ava';
import { destinationLabel, httpSpanName, isRuntimeRoute, messageAttributes, spanName } from './names.js';

test('spans are named after the operation and the destination', (t) => {
  t.is(spanName('publish', destinationLabel('', 'card_queue')), 'publish card_queue');
  t.is(spanName('publish', destinationLabel('cards.issued', 'card.issued')), 'publish cards.issued');
  t.is(spanName('process', 'user_queue'), 'process user_queue');
  t.is(spanName('ack', ''), 'ack');
  t.is(httpSpanName('POST', '/users'), 'POST /users');
  t.is(httpSpanName('GET', '/users/:id'), 'GET /users/:id');
  t.is(httpSpanName('GET', undefined), 'GET');
});

test('a message through the default exchange names the exchange empty and the queue as routing key', (t) => {
  t.deepEqual(messageAttributes('publish', '', 'card_queue', 'id-1'), {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'publish',
    'messaging.operation.name': 'publish',
    'messaging.destination.name': '',
    'messaging.message.id': 'id-1',
    'messaging.rabbitmq.destination.routing_key': 'card_queue',
  });
  t.false('messaging.rabbitmq.destination.routing_key' in messageAttributes('create', 'fanout', '', 'id-2'));
});

test('the runtime routes are told apart from the services routes', (t) => {
  for (const route of ['/healthz', '/readyz', '/metrics', '/viz', '/viz/events']) t.true(isRuntimeRoute(route), route);
  for (const route of ['/users', '/users/:id', '/vizier']) t.false(isRuntimeRoute(route), route);
});
