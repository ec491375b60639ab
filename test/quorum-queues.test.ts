// QUEUE_TYPE=quorum on the local single node (quorum queues work on one node too), and what happens when a
// queue already exists with the other type.
import amqplib from 'amqplib';
import test from 'ava';
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
    () => users.logs.find((entry) => entry.machine === 'consumer' && entry.to === 'restarting' && String(entry.error).includes('QUEUE_TYPE')),
    { timeoutMs: 60_000, what: () => `a consumer restart naming the queue mismatch; log: ${JSON.stringify(users.logs.slice(-5))}` },
  );
  const error = String(line.error);
  t.regex(error, new RegExp(`^queue ${environment.cardQueue.replace(/[.]/g, '\\.')} already exists with other arguments than QUEUE_TYPE=quorum declares`));
  t.regex(error, /PRECONDITION_FAILED - inequivalent arg/);
  t.regex(error, /cannot be changed in place/);
  t.false(error.includes('guest:guest'));
  const readiness = await fetch(`${users.url}/readyz`);
  t.is(readiness.status, 503, 'a consumer that cannot declare its queues is not ready');
});
