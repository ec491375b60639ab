import test from 'ava';
import type { Channel } from 'amqplib';
import { declareTopology, QueueMismatchError, queueDeclarations } from '../src/actors/broker/topology.js';

test('classic queues are declared durable with no other arguments, as the seed declares them', (t) => {
  t.deepEqual(queueDeclarations({ queues: ['user_queue', 'card_queue'] }), [
    { queue: 'user_queue', options: { durable: true } },
    { queue: 'user_queue.dead', options: { durable: true } },
    { queue: 'card_queue', options: { durable: true } },
    { queue: 'card_queue.dead', options: { durable: true } },
  ]);
  t.deepEqual(
    queueDeclarations({ queues: ['user_queue'], queueType: 'classic', deliveryLimit: 100 }),
    queueDeclarations({ queues: ['user_queue'] }),
  );
});

test('quorum work queues get a delivery limit and dead-letter to <queue>.dead; the .dead queues are quorum too', (t) => {
  t.deepEqual(queueDeclarations({ queues: ['user_queue'], queueType: 'quorum', deliveryLimit: 100 }), [
    {
      queue: 'user_queue',
      options: {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-delivery-limit': 100,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': 'user_queue.dead',
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      },
    },
    { queue: 'user_queue.dead', options: { durable: true, arguments: { 'x-queue-type': 'quorum' } } },
  ]);
});

test('quorum queues without a delivery limit are a programming error', (t) => {
  t.throws(() => queueDeclarations({ queues: ['q'], queueType: 'quorum' }), { message: /delivery limit/ });
});

const channelFailingOn = (failing: string, error: Error & { code?: number }) =>
  ({
    assertQueue: async (queue: string) => {
      if (queue === failing) throw error;
      return { queue, messageCount: 0, consumerCount: 0 };
    },
  }) as unknown as Channel;

test('PRECONDITION_FAILED on a declaration names the queue and the way out', async (t) => {
  const brokerError = Object.assign(
    new Error(
      `Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'card_queue' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"`,
    ),
    { code: 406 },
  );
  const error = await t.throwsAsync(
    declareTopology(channelFailingOn('card_queue', brokerError), {
      queues: ['user_queue', 'card_queue'],
      queueType: 'quorum',
      deliveryLimit: 100,
    }),
    { instanceOf: QueueMismatchError },
  );
  t.is(error!.queue, 'card_queue');
  t.regex(
    error!.message,
    /^queue card_queue already exists with other arguments than queue type quorum declares \(PRECONDITION_FAILED - inequivalent arg 'x-queue-type'/,
  );
  t.regex(error!.message, /cannot be changed in place/);
  t.regex(error!.message, /drain and delete it/);
  t.regex(error!.message, /move to new queue names/);
  t.false(error!.message.includes('Channel closed by server'));
});

test('other declaration failures pass through unchanged', async (t) => {
  const closed = new Error('Channel closed');
  const error = await t.throwsAsync(
    declareTopology(channelFailingOn('user_queue', closed), { queues: ['user_queue'] }),
  );
  t.is(error, closed);
});

test('delay queues hold every message for their TTL, then dead-letter it to the consumer queue; no .dead of their own', (t) => {
  const delayQueues = [{ name: 'user_queue.retry.10s', queue: 'user_queue', ttlMs: 10_000 }];
  const classic = queueDeclarations({ queues: ['user_queue'], delayQueues });
  t.deepEqual(classic.slice(0, 2), queueDeclarations({ queues: ['user_queue'] }), 'the main queue keeps its contract');
  t.deepEqual(classic.slice(2), [
    {
      queue: 'user_queue.retry.10s',
      options: {
        durable: true,
        arguments: {
          'x-message-ttl': 10_000,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': 'user_queue',
        },
      },
    },
  ]);
  const quorum = queueDeclarations({ queues: ['user_queue'], queueType: 'quorum', deliveryLimit: 100, delayQueues });
  t.deepEqual(quorum.slice(2), [
    {
      queue: 'user_queue.retry.10s',
      options: {
        durable: true,
        arguments: {
          'x-message-ttl': 10_000,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': 'user_queue',
          'x-queue-type': 'quorum',
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        },
      },
    },
  ]);
});
