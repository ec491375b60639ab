import { randomUUID } from 'node:crypto';
import test from 'ava';
import { publishRaw, queueCounts } from './support/broker.js';
import { createTestEnvironment, query } from './support/environment.js';
import { messageOutcomes } from './support/outcomes.js';
import { startService } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

const userBody = (id: string) =>
  JSON.stringify({ id, name: 'Twice', email: `${id}@example.com`, created_at: new Date().toISOString() });

async function cardsOf(url: string, userId: string) {
  return query<{ id: string }>(url, 'SELECT id FROM cards WHERE user_id = $1', [userId]);
}

test('the same user delivered again, with the same, another or no message id, yields one card', async (t) => {
  const environment = createTestEnvironment('dup');
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'card');
  t.teardown(() => service.stop());

  const withId = randomUUID();
  const withoutId = randomUUID();
  await publishRaw(environment.userQueue, [userBody(withId), userBody(withId)], { messageId: 'same-id' });
  // The seed's producers set no message id and no content type: idempotency holds by the user's id.
  await publishRaw(environment.userQueue, [userBody(withoutId), userBody(withoutId)]);
  await publishRaw(environment.userQueue, [userBody(withId)], { messageId: 'another-id-same-user' });

  await waitUntil(
    async () => {
      return messageOutcomes(service.logs, environment.userQueue).length === 5;
    },
    { what: 'all five deliveries to finish' },
  );
  t.is((await cardsOf(environment.cardDbUrl, withId)).length, 1);
  t.is((await cardsOf(environment.cardDbUrl, withoutId)).length, 1);
  // One card message per user on the card queue (no user service runs to take them).
  await waitUntil(async () => (await queueCounts(environment.cardQueue)).messages === 2, {
    what: 'two card messages on the card queue',
  });
  const outcomes = messageOutcomes(service.logs, environment.userQueue)
    .map((line) => line.outcome)
    .sort();
  t.deepEqual(outcomes, ['acked', 'acked', 'duplicate', 'duplicate', 'duplicate']);
  t.is((await queueCounts(environment.userQueue)).messages, 0);
});

test('a delivery redelivered after its commit but before its ack has no second effect', async (t) => {
  const environment = createTestEnvironment('redeliver');
  t.teardown(() => environment.cleanUp());
  // The process dies between the commit and the ack, as a crash would have it.
  const crashing = await startService({ ...environment.env, FAILPOINTS: 'card.beforeAck=exit*1' }, 'card');
  const userId = randomUUID();
  await publishRaw(environment.userQueue, [userBody(userId)], { messageId: 'commit-then-crash' });
  t.is(await crashing.exited, 137);
  const [committed] = await cardsOf(environment.cardDbUrl, userId);
  t.truthy(committed, 'the card was committed before the crash');
  t.is((await queueCounts(environment.userQueue)).messages, 1, 'the unacked delivery is back in the queue');

  const restarted = await startService(environment.env, 'card');
  t.teardown(() => restarted.stop());
  await waitUntil(
    async () =>
      (await queueCounts(environment.userQueue)).messages === 0 &&
      restarted.logs.some((line) => line.outcome === 'duplicate'),
    {
      what: 'the redelivery to be processed as a duplicate',
    },
  );
  const redelivery = restarted.logs.find((line) => line.machine === 'delivery' && line.to === 'done');
  t.is(redelivery?.redelivered, true);
  t.is(redelivery?.outcome, 'duplicate');
  t.deepEqual(await cardsOf(environment.cardDbUrl, userId), [committed]);
  // The card's message was committed in the outbox before the crash: it is still delivered, once, and its row
  // is marked sent (confirmed rows are marked in groups, shortly after their confirm).
  const unsentRows = async () =>
    (await query<{ n: string }>(environment.cardDbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'))[0]!.n;
  await waitUntil(
    async () => (await queueCounts(environment.cardQueue)).messages === 1 && (await unsentRows()) === '0',
    {
      what: async () =>
        `the card message of the crashed delivery on the card queue and its row marked sent (unsent rows: ${await unsentRows()})`,
    },
  );
});

test('a service started before the other catches up from the queue', async (t) => {
  const environment = createTestEnvironment('catchup');
  t.teardown(() => environment.cleanUp());
  const users = await startService(environment.env, 'user');
  t.teardown(() => users.stop());

  const response = await fetch(`${users.url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Early', email: 'early@example.com' }),
  });
  t.is(response.status, 201);
  const { id } = (await response.json()) as { id: string };
  await waitUntil(async () => (await queueCounts(environment.userQueue)).messages === 1, {
    what: 'the user message to wait in the user queue',
  });

  const cards = await startService(environment.env, 'card');
  t.teardown(() => cards.stop());
  const card = await waitUntil(
    async () => {
      const res = await fetch(`${users.url}/users/${id}`);
      const body = (await res.json()) as { card: { id: string } | null };
      return body.card ?? undefined;
    },
    { what: 'the card issued once the card service started' },
  );
  t.deepEqual(await cardsOf(environment.cardDbUrl, id), [{ id: card.id }]);
});
