import test from 'ava';
import { UndeclaredDestinationError } from '../../api/errors.js';
import { DeclaredDestinations, OutgoingMessages } from './outgoing.js';

const destinations = new DeclaredDestinations({ queues: ['card_queue'], exchanges: [] });
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('a message gets a fresh UUID unless it names its own, and its body as JSON text', (t) => {
  const out = new OutgoingMessages(destinations);
  const generated = out.publish({ queue: 'card_queue' }, { id: 1 });
  const chosen = out.publish({ queue: 'card_queue' }, 'x', { messageId: '0b9e6a52-4c8f-4a43-9e7e-5d1f2a3b4c5d' });
  t.regex(generated, uuid);
  t.is(chosen, '0b9e6a52-4c8f-4a43-9e7e-5d1f2a3b4c5d');
  t.deepEqual(
    out.messages.map(({ id, routingKey, body }) => ({ id, routingKey, body })),
    [
      { id: generated, routingKey: 'card_queue', body: '{"id":1}' },
      { id: chosen, routingKey: 'card_queue', body: '"x"' },
    ],
  );
});

test('a message id that is not a UUID, an undeclared queue or a body that is no JSON value is refused', (t) => {
  const out = new OutgoingMessages(destinations);
  t.throws(() => out.publish({ queue: 'card_queue' }, {}, { messageId: 'card-1' }), {
    instanceOf: TypeError,
    message: /messageId card-1 is not a UUID/,
  });
  t.throws(() => out.publish({ queue: 'elsewhere' }, {}), { instanceOf: UndeclaredDestinationError });
  t.throws(() => out.publish({ queue: 'card_queue' }, undefined), { instanceOf: TypeError });
  t.deepEqual(out.messages, [], 'nothing refused is written');
});
