// Batches against the real broker and database: messages that wait together commit together, and a batch
// that meets a poison message (found while decoding, or inside the transaction) splits, so that the poison
// is dead-lettered alone and every other message commits on its own, with no attempt counted against it.
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { deadLetterHeader } from '../src/policies/dead-letter.js';
import { newCardNumber } from '../src/app/card/card-number.js';
import { peekQueue, publishRaw, queueCounts } from './support/broker.js';
import { createTestEnvironment, query } from './support/environment.js';
import { messageOutcomes } from './support/outcomes.js';
import { startService, type ServiceProcess } from './support/service-process.js';
import { waitUntil } from './support/wait.js';
import { lockTable } from './support/table-lock.js';

const userBody = (id: string) =>
  JSON.stringify({ id, name: 'Batched', email: `${id}@example.com`, created_at: new Date().toISOString() });

const deliveryLines = (service: ServiceProcess) => service.logs.filter((line) => line.machine === 'delivery');

/**
 * One message goes first and is held in its transaction by the lock; with BATCH_CONCURRENCY=1 the next ones
 * can only wait, and they are all in the process (none ready in the queue) before the lock is released.
 */
async function holdThenQueue(
  t: { teardown(fn: () => Promise<void>): void },
  service: ServiceProcess,
  queue: string,
  databaseUrl: string,
  first: string,
  rest: string[],
) {
  const lock = await lockTable(t, databaseUrl, 'cards');
  await publishRaw(queue, [first]);
  await waitUntil(() => deliveryLines(service).some((line) => line.to === 'persisting'), {
    what: 'the first delivery to be held in its transaction',
  });
  await publishRaw(queue, rest);
  await waitUntil(async () => (await queueCounts(queue)).messages === 0, {
    what: `every message of ${queue} to be delivered`,
  });
  await lock.release();
}

test('messages that wait together commit in one batch; a poison one among them splits it and goes to .dead alone', async (t) => {
  // Batches of 32: the 45 waiting messages make two, the poison's (which splits) and one that commits whole.
  const environment = createTestEnvironment('batchdecode', { BATCH_CONCURRENCY: '1', MAX_BATCH: '32' });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'card');
  t.teardown(() => service.stop());

  const userIds = Array.from({ length: 46 }, () => randomUUID());
  const bodies = userIds.slice(1).map(userBody);
  bodies.splice(5, 0, 'this is { not JSON');
  await holdThenQueue(t, service, environment.userQueue, environment.cardDbUrl, userBody(userIds[0]!), bodies);

  await waitUntil(async () => (await queueCounts(environment.cardQueue)).messages === 46, {
    what: 'one card message per user on the card queue',
  });
  const cards = await query<{ user_id: string; n: string }>(
    environment.cardDbUrl,
    'SELECT user_id, count(*) AS n FROM cards GROUP BY user_id',
  );
  t.is(cards.length, 46);
  t.true(cards.every((row) => row.n === '1'));
  t.deepEqual(cards.map((row) => row.user_id).sort(), [...userIds].sort());

  const lines = deliveryLines(service);
  // `splitting` passes within one step (as `acking` does): the log shows the batch ending with outcome `split`.
  const split = lines.find((line) => line.to === 'done' && line.outcome === 'split');
  t.truthy(split, 'the batch holding the poison message split');
  t.is(split!.from, 'receiving', 'before any transaction: the poison was found while decoding');
  t.true(Number(split!.batch) > 1);
  t.true(
    lines.some((line) => line.to === 'persisting' && Number(line.batch) > 1),
    'messages that waited together went into one transaction',
  );

  const dead = await waitUntil(
    async () => {
      const messages = await peekQueue(`${environment.userQueue}.dead`);
      return messages.length === 1 ? messages : undefined;
    },
    { what: 'the poison message in the dead-letter queue' },
  );
  t.is(dead[0]!.content.toString(), 'this is { not JSON');
  t.regex(String(dead[0]!.properties.headers?.[deadLetterHeader.reason]), /not JSON/);

  const outcomes = messageOutcomes(service.logs, environment.userQueue).map((line) => line.outcome);
  t.is(outcomes.filter((outcome) => outcome === 'acked').length, 46);
  t.is(outcomes.filter((outcome) => outcome === 'dead-lettered').length, 1);
  t.is(outcomes.length, 47, 'every message has exactly one outcome in the log');
  const [attempts] = await query<{ n: string }>(environment.cardDbUrl, 'SELECT count(*) AS n FROM delivery_attempts');
  t.is(attempts!.n, '0', 'the split counted no attempt against any message');
  t.is((await queueCounts(environment.userQueue)).messages, 0);
});

test('a batch whose transaction fails on one message splits: that one is dead-lettered, every other is stored once', async (t) => {
  const environment = createTestEnvironment('batchtx', { BATCH_CONCURRENCY: '1', MAX_ATTEMPTS: '3' });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'user');
  t.teardown(() => service.stop());

  const userIds = Array.from({ length: 31 }, () => randomUUID());
  for (const id of userIds) {
    await query(environment.userDbUrl, 'INSERT INTO users (id, name, email, created_at) VALUES ($1, $2, $3, now())', [
      id,
      'Known',
      `${id}@example.com`,
    ]);
  }
  const cardBody = (userId: string) =>
    JSON.stringify({
      id: randomUUID(),
      user_id: userId,
      number: newCardNumber(),
      created_at: new Date().toISOString(),
    });
  const strangerCard = cardBody(randomUUID()); // its user does not exist: the foreign key fails inside the transaction
  const bodies = userIds.slice(1).map(cardBody);
  bodies.splice(3, 0, strangerCard);
  await holdThenQueue(t, service, environment.cardQueue, environment.userDbUrl, cardBody(userIds[0]!), bodies);

  const dead = await waitUntil(
    async () => {
      const messages = await peekQueue(`${environment.cardQueue}.dead`);
      return messages.length === 1 ? messages : undefined;
    },
    { what: 'the card of an unknown user in the dead-letter queue' },
  );
  t.is(dead[0]!.content.toString(), strangerCard);
  t.regex(String(dead[0]!.properties.headers?.[deadLetterHeader.reason]), /foreign key/);
  await waitUntil(async () => (await query(environment.userDbUrl, 'SELECT 1 FROM cards')).length === 31, {
    what: 'a card stored for each of the 31 known users',
  });

  const lines = deliveryLines(service);
  const split = lines.find((line) => line.to === 'done' && line.outcome === 'split');
  t.truthy(split, 'the batch split');
  t.is(split!.from, 'rollingBack', 'after its transaction was rolled back');
  t.true(Number(split!.batch) > 1);
  const attempts = await query<{ attempts: number }>(environment.userDbUrl, 'SELECT attempts FROM delivery_attempts');
  t.deepEqual(
    attempts.map((row) => row.attempts),
    [1],
    'one attempt, counted against the failing message alone (poison is dead-lettered at its first counted failure)',
  );
  const outcomes = messageOutcomes(service.logs, environment.cardQueue).map((line) => line.outcome);
  t.is(outcomes.filter((outcome) => outcome === 'acked').length, 31);
  t.is(outcomes.filter((outcome) => outcome === 'dead-lettered').length, 1);
  t.is((await queueCounts(environment.cardQueue)).messages, 0);
});
