import { randomUUID } from 'node:crypto';
import test from 'ava';
import { deadLetterHeader } from '../src/policies/dead-letter.js';
import { publishRaw, peekQueue, queueCounts } from './support/broker.js';
import { createTestEnvironment, query } from './support/environment.js';
import { startService } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

const validUser = (id = randomUUID()) =>
  JSON.stringify({ id, name: 'Valid', email: `${id}@example.com`, created_at: new Date().toISOString() });

test('a malformed and a schema-invalid message land in <queue>.dead with their reason; the next message is processed', async (t) => {
  const environment = createTestEnvironment('poison', { MAX_ATTEMPTS: '3' });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'card');
  t.teardown(() => service.stop());

  const nextUserId = randomUUID();
  await publishRaw(environment.userQueue, ['this is { not JSON'], { messageId: 'poison-not-json' });
  await publishRaw(environment.userQueue, [JSON.stringify({ id: 'nope', name: '', email: 'x' })], {
    messageId: 'poison-invalid',
    headers: { 'x-origin': 'test' },
  });
  await publishRaw(environment.userQueue, [validUser(nextUserId)]);

  await waitUntil(
    async () =>
      (await query(environment.cardDbUrl, 'SELECT 1 FROM cards WHERE user_id = $1', [nextUserId])).length === 1,
    { what: 'the card of the valid user published after the poison messages' },
  );
  const dead = await waitUntil(
    async () => {
      const messages = await peekQueue(`${environment.userQueue}.dead`);
      return messages.length === 2 ? messages : undefined;
    },
    { what: `two dead letters in ${environment.userQueue}.dead` },
  );
  const byId = new Map(dead.map((message) => [message.properties.messageId as string, message]));
  const notJson = byId.get('poison-not-json')!;
  t.is(notJson.content.toString(), 'this is { not JSON');
  t.regex(String(notJson.properties.headers?.[deadLetterHeader.reason]), /not JSON/);
  t.is(notJson.properties.headers?.[deadLetterHeader.kind], 'poison');
  t.is(notJson.properties.headers?.[deadLetterHeader.queue], environment.userQueue);
  t.is(notJson.properties.deliveryMode, 2);

  const invalid = byId.get('poison-invalid')!;
  const reason = String(invalid.properties.headers?.[deadLetterHeader.reason]);
  t.regex(reason, /fails validation/);
  t.regex(reason, /id/);
  t.regex(reason, /email/);
  t.is(invalid.properties.headers?.['x-origin'], 'test', 'original headers are kept');

  t.is((await queueCounts(environment.userQueue)).messages, 0);
  const deadLettered = service.logs.filter((line) => line.machine === 'delivery' && line.to === 'deadLettering');
  t.is(deadLettered.length, 2);
});

test('a message that fails on every attempt is dead-lettered after MAX_ATTEMPTS, with the count recorded', async (t) => {
  // A card for a user the user service has never heard of breaks a foreign key: poison, but found only
  // inside the transaction. A failpoint makes every persist fail instead, to prove the attempt bound.
  const environment = createTestEnvironment('attempts', { MAX_ATTEMPTS: '3', FAILPOINTS: 'card.persist=error*1000' });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'card');
  t.teardown(() => service.stop());

  await publishRaw(environment.userQueue, [validUser()], { messageId: 'always-fails' });
  const [dead] = await waitUntil(
    async () => {
      const messages = await peekQueue(`${environment.userQueue}.dead`);
      return messages.length === 1 ? messages : undefined;
    },
    { what: 'the always-failing message in the dead-letter queue' },
  );
  t.is(dead!.properties.headers?.[deadLetterHeader.attempts], 3);
  t.is(dead!.properties.headers?.[deadLetterHeader.kind], 'transient');
  t.regex(String(dead!.properties.headers?.[deadLetterHeader.reason]), /failpoint card\.persist/);
  const attempts = service.logs.filter(
    (line) => line.machine === 'delivery' && line.messageId === 'always-fails' && line.to === 'rollingBack',
  );
  t.is(attempts.length, 3, 'three attempts, each rolled back');
  t.is((await queueCounts(environment.userQueue)).messages, 0);
  t.deepEqual(await query(environment.cardDbUrl, 'SELECT * FROM cards'), []);
});

test('a card for an unknown user breaks a constraint and is dead-lettered at once', async (t) => {
  const environment = createTestEnvironment('fk');
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'user');
  t.teardown(() => service.stop());

  const card = {
    id: randomUUID(),
    user_id: randomUUID(),
    number: '4539578763621486',
    created_at: new Date().toISOString(),
  };
  await publishRaw(environment.cardQueue, [JSON.stringify(card)]);
  const [dead] = await waitUntil(
    async () => {
      const messages = await peekQueue(`${environment.cardQueue}.dead`);
      return messages.length === 1 ? messages : undefined;
    },
    { what: 'the orphan card in the dead-letter queue' },
  );
  t.regex(String(dead!.properties.headers?.[deadLetterHeader.reason]), /foreign key/);
  t.is(dead!.properties.headers?.[deadLetterHeader.attempts], 1);
});
