// Delayed retries ride out a restart of the broker: messages waiting in a delay queue (durable, persistent)
// are still there after RabbitMQ's application restarts, expire, come back to the card service's queue and
// are processed once each.
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { publishRaw, queueCounts } from '../support/broker.js';
import { createTestEnvironment, delayQueuesOf, query } from '../support/environment.js';
import { startService } from '../support/service-process.js';
import { restartBrokerApp } from '../support/services-control.js';
import { waitUntil } from '../support/wait.js';

test('messages waiting in a delay queue survive a restart of the broker and come back', async (t) => {
  const delaySeconds = [15];
  // Fewer failing messages than the outage breaker's 5 (src/policies/circuit-breaker.ts): failures of that many
  // messages in a row would be taken for an outage, which pauses the consumer instead of delaying them.
  const users = 4;
  const environment = createTestEnvironment('s12delay', {
    IMMEDIATE_RETRIES: '0',
    DELAYED_RETRY_SECONDS: delaySeconds.join(','),
    MAX_BATCH: '1',
    FAILPOINTS: `card.persist=error*${users}`,
  });
  t.teardown(() => environment.cleanUp());
  const cards = await startService(environment.env, 'card');
  t.teardown(() => cards.stop());

  const ids = Array.from({ length: users }, () => randomUUID());
  await publishRaw(
    environment.userQueue,
    ids.map((id) =>
      JSON.stringify({ id, name: 'Waiting', email: `${id}@example.com`, created_at: new Date().toISOString() }),
    ),
  );
  const delayQueue = delayQueuesOf(environment.userQueue, delaySeconds)[0]!;
  await waitUntil(async () => (await queueCounts(delayQueue)).messages === users, {
    what: `${users} messages waiting in ${delayQueue}`,
  });
  const restartedAt = Date.now();
  await restartBrokerApp(2_000);
  const afterRestart = (await queueCounts(delayQueue)).messages;
  t.log(
    `${afterRestart} of ${users} messages still in ${delayQueue} after the restart (${Date.now() - restartedAt} ms)`,
  );
  t.is(afterRestart, users, 'the broker kept every waiting message');

  const cardCounts = async () =>
    query<{ user_id: string; n: string }>(
      environment.cardDbUrl,
      'SELECT user_id, count(*) AS n FROM cards GROUP BY user_id ORDER BY user_id',
    );
  await waitUntil(async () => (await cardCounts()).length === users, {
    timeoutMs: 120_000,
    what: 'a card for every user, after the delay',
  });
  t.log(`every message processed ${Date.now() - restartedAt} ms after the restart began`);
  t.deepEqual(
    (await cardCounts()).map((row) => [row.user_id, row.n]),
    [...ids].sort().map((id) => [id, '1']),
    'one card per user',
  );
  for (const name of [environment.userQueue, `${environment.userQueue}.dead`, delayQueue]) {
    t.is((await queueCounts(name)).messages, 0, `${name} is empty`);
  }
  t.is(cards.child.exitCode, null, 'the card service never exited');
});
