// QUEUE_TYPE=quorum on the local single node (quorum queues work on one node too), and what happens when a
// queue already exists with the other type.
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import test from 'ava';
import { declareTopology } from '../src/actors/broker/topology.js';
import { amqpUrl, createTestEnvironment } from './support/environment.js';
import { checkInvariants } from './support/invariants.js';
import { createOneUser } from './support/load.js';
import { startService, type ServiceProcess } from './support/service-process.js';
import { queueTypes } from './support/services-control.js';
import { waitUntil } from './support/wait.js';

test('QUEUE_TYPE=quorum: users run end to end, and all four queues really are quorum queues', async (t) => {
  const environment = createTestEnvironment('quorum', { QUEUE_TYPE: 'quorum' });
  const processes: ServiceProcess[] = [];
  t.teardown(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await environment.cleanUp();
  });
  processes.push(await startService(environment.env, 'user'), await startService(environment.env, 'card'));
  const [users] = processes as [ServiceProcess, ServiceProcess];

  const created: string[] = [];
  for (let index = 0; index < 10; index += 1) {
    const id = await createOneUser(() => users.url, 'quorum');
    if (id) created.push(id);
  }
  const report = await checkInvariants({ environment, createdUserIds: created, timeoutMs: 60_000 });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, 10);

  const types = await queueTypes();
  for (const queue of [environment.userQueue, environment.cardQueue]) {
    t.is(types.get(queue), 'quorum', queue);
    t.is(types.get(`${queue}.dead`), 'quorum', `${queue}.dead`);
    t.is(types.get(`${queue}.retry.10s`), 'quorum', `${queue}.retry.10s, the delay queue of the default settings`);
  }
});

test('a queue that exists with the other type: the log names the queue and the fix, without the password', async (t) => {
  const environment = createTestEnvironment('mismatch');
  t.teardown(() => environment.cleanUp());
  // The card queue as the seed (or an earlier classic run) declared it.
  const connection = await amqplib.connect(amqpUrl);
  const channel = await connection.createChannel();
  await channel.assertQueue(environment.cardQueue, { durable: true });
  await connection.close();

  const users = await startService({ ...environment.env, QUEUE_TYPE: 'quorum' }, 'user', { waitReady: false });
  t.teardown(() => users.stop());
  const line = await waitUntil(
    () =>
      users.logs.find(
        (entry) =>
          entry.machine === 'consumer' &&
          entry.to === 'restarting' &&
          String(entry.error).includes('already exists with other arguments'),
      ),
    {
      timeoutMs: 60_000,
      what: () => `a consumer restart naming the queue mismatch; log: ${JSON.stringify(users.logs.slice(-5))}`,
    },
  );
  const error = String(line.error);
  t.regex(
    error,
    new RegExp(
      `^queue ${environment.cardQueue.replace(/[.]/g, '\\.')} already exists with other arguments than queue type quorum declares`,
    ),
  );
  t.regex(error, /PRECONDITION_FAILED - inequivalent arg/);
  t.regex(error, /cannot be changed in place/);
  t.false(error.includes('guest:guest'));
  const readiness = await fetch(`${users.url}/readyz`);
  t.is(readiness.status, 503, 'a consumer that cannot declare its queues is not ready');
});

test('a quorum queue as declared moves a message returned QUORUM_DELIVERY_LIMIT times to <queue>.dead, at least once', async (t) => {
  const queue = `quorum-limit-${randomUUID()}`;
  const connection = await amqplib.connect(amqpUrl);
  t.teardown(async () => {
    const cleanup = await connection.createChannel();
    await cleanup.deleteQueue(queue).catch(() => {});
    await cleanup.deleteQueue(`${queue}.dead`).catch(() => {});
    await connection.close().catch(() => {});
  });
  const channel = await connection.createConfirmChannel();
  await declareTopology(channel, { queues: [queue], queueType: 'quorum', deliveryLimit: 2 });
  channel.sendToQueue(queue, Buffer.from('{"returned":"again and again"}'), { persistent: true, messageId: 'limit-1' });
  await channel.waitForConfirms();

  // Returned once more than the limit allows: the broker, not the runtime, dead-letters it.
  for (let returned = 0; returned < 3; returned += 1) {
    let message: amqplib.GetMessage | false = false;
    await waitUntil(async () => Boolean((message = await channel.get(queue, { noAck: false }))), {
      what: `delivery ${returned + 1}`,
    });
    channel.nack(message as unknown as amqplib.GetMessage, false, true);
  }
  let dead: amqplib.GetMessage | false = false;
  await waitUntil(async () => Boolean((dead = await channel.get(`${queue}.dead`, { noAck: false }))), {
    what: 'the message in the dead-letter queue',
  });
  const deadLetter = dead as unknown as amqplib.GetMessage;
  t.is(deadLetter.properties.messageId, 'limit-1');
  t.is(deadLetter.content.toString(), '{"returned":"again and again"}');
  t.is(deadLetter.properties.headers?.['x-first-death-reason'], 'delivery_limit');
  channel.ack(deadLetter);
  t.false(await channel.get(queue, { noAck: false }), 'nothing left in the work queue');
});

test('a quorum delay queue as declared returns a message to its quorum queue when its TTL ends', async (t) => {
  const queue = `quorum-delay-${randomUUID()}`;
  const delayQueue = `${queue}.retry.1s`;
  const connection = await amqplib.connect(amqpUrl);
  t.teardown(async () => {
    const cleanup = await connection.createChannel();
    for (const name of [queue, `${queue}.dead`, delayQueue]) await cleanup.deleteQueue(name).catch(() => {});
    await connection.close().catch(() => {});
  });
  const channel = await connection.createConfirmChannel();
  await declareTopology(channel, {
    queues: [queue],
    queueType: 'quorum',
    deliveryLimit: 10,
    delayQueues: [{ name: delayQueue, queue, ttlMs: 1_000 }],
  });
  const published = Date.now();
  channel.sendToQueue(delayQueue, Buffer.from('{"waiting":true}'), { persistent: true, messageId: 'delay-1' });
  await channel.waitForConfirms();

  let message: amqplib.GetMessage | false = false;
  await waitUntil(async () => Boolean((message = await channel.get(queue, { noAck: false }))), {
    what: 'the message back in the quorum queue',
  });
  const back = message as unknown as amqplib.GetMessage;
  t.log(`back after ${Date.now() - published} ms (TTL 1000 ms)`);
  t.is(back.properties.messageId, 'delay-1');
  const [death] = (back.properties.headers?.['x-death'] ?? []) as { queue: string; reason: string }[];
  t.is(death?.queue, delayQueue);
  t.is(death?.reason, 'expired');
  channel.ack(back);
  const types = await queueTypes();
  t.is(types.get(delayQueue), 'quorum');
});
