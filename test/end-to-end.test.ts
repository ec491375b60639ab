import test from 'ava';
import { passesLuhn } from '../src/app/card/card-number.js';
import { createUser, getUser, type User } from './support/api.js';
import { queueCounts } from './support/broker.js';
import { createTestEnvironment, query } from './support/environment.js';
import { startService } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

test('a created user gets exactly one card, stored in both services and shown by GET /users/:id', async (t) => {
  const environment = createTestEnvironment('e2e');
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env);
  t.teardown(() => service.stop());

  const created = await createUser(service.url, 'Ada', 'ada@example.com');
  t.is(created.name, 'Ada');
  t.is(created.email, 'ada@example.com');
  t.is(created.card, null);
  t.regex(created.id, /^[0-9a-f-]{36}$/);

  const withCard = await waitUntil(
    async () => {
      const { body } = await getUser(service.url, created.id);
      return (body as User).card ? (body as User) : undefined;
    },
    { what: `the card of user ${created.id}` },
  );
  t.regex(withCard.card!.number, /^\d{16}$/);
  t.true(passesLuhn(withCard.card!.number));

  const cardSide = await query<{ id: string; number: string }>(
    environment.cardDbUrl,
    'SELECT id, number FROM cards WHERE user_id = $1',
    [created.id],
  );
  t.deepEqual(cardSide, [{ id: withCard.card!.id, number: withCard.card!.number }]);
  const userSide = await query(environment.cardDbUrl, 'SELECT name, email FROM users WHERE id = $1', [created.id]);
  t.deepEqual(userSide, [{ name: 'Ada', email: 'ada@example.com' }]);

  await waitUntil(
    async () =>
      (await query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'))[0]!
        .n === '0',
    { what: 'the user outbox to be sent' },
  );
  await waitUntil(
    async () =>
      (await query<{ n: string }>(environment.cardDbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'))[0]!
        .n === '0',
    { what: 'the card outbox to be sent' },
  );
  t.is((await queueCounts(environment.userQueue)).messages, 0);
  t.is((await queueCounts(environment.cardQueue)).messages, 0);

  // Every delivery's transitions are in the log, with the fields an operator needs.
  const transitions = service.logs.filter((line) => line.message === 'transition' && line.machine === 'delivery');
  const cardSideSteps = transitions.filter((line) => line.queue === environment.userQueue).map((line) => line.to);
  t.deepEqual(cardSideSteps, ['persisting', 'publishing', 'done']);
  for (const line of transitions) {
    for (const field of ['service', 'queue', 'messageId', 'deliveryTag', 'redelivered', 'from', 'to', 'ms']) {
      t.true(field in line, `${field} missing from ${JSON.stringify(line)}`);
    }
  }
  t.true(service.logs.some((line) => line.message === `Processing user: ${created.id}`));
  t.true(
    service.logs.some(
      (line) =>
        line.message ===
        `Successfully processed user ${created.id}, created card ${withCard.card!.id}, and acked message`,
    ),
  );
  t.true(
    service.logs.some(
      (line) => line.message === `Successfully saved and acked card: ${withCard.card!.id} for user ${created.id}`,
    ),
  );
  const connected = service.logs.find((line) => line.machine === 'connection' && line.to === 'connected');
  t.regex(
    String(connected?.url),
    /^amqps?:\/\/[^:/@]+:\*\*\*@/,
    'the connection line names the broker, its password redacted',
  );

  t.is(await service.stop(), 0, 'SIGTERM ends the process with status 0');
});

test('many users created at once each get exactly one card', async (t) => {
  const environment = createTestEnvironment('e2emany');
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env);
  t.teardown(() => service.stop());

  const users = await Promise.all(
    Array.from({ length: 60 }, (_, index) => createUser(service.url, `User ${index}`, `user${index}@example.com`)),
  );
  await waitUntil(
    async () => {
      const [row] = await query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM cards');
      return Number(row!.n) === users.length;
    },
    { what: `${users.length} cards in the user service` },
  );
  const perUser = await query<{ user_id: string; n: string }>(
    environment.cardDbUrl,
    'SELECT user_id, count(*) AS n FROM cards GROUP BY user_id',
  );
  t.is(perUser.length, users.length);
  t.true(perUser.every((row) => row.n === '1'));
  const mismatched = await query(
    environment.userDbUrl,
    `SELECT c.id FROM cards c LEFT JOIN users u ON u.id = c.user_id WHERE u.id IS NULL`,
  );
  t.deepEqual(mismatched, []);
});
