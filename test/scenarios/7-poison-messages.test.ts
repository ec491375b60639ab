// Seed scenario "poison messages", which the seed's plain requeue would loop on forever: a body that is
// not JSON, JSON that fails validation, an oversize body, and a message that fails on every attempt (a
// database trigger refuses it). Each lands in <queue>.dead with its reason and attempt count, after the
// bounded attempts where retrying could help, and the stream of good users carries on around them.
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { deadLetterHeader } from '../../src/policies/dead-letter.js';
import { peekQueue, publishRaw } from '../support/broker.js';
import { query } from '../support/environment.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { startScenario } from '../support/scenario.js';

const maxAttempts = 4;
const refusedName = 'refused-by-trigger';

test('poison messages are dead-lettered with their reason after bounded attempts while good users flow on', async (t) => {
  const scenario = await startScenario(t, 's7poison', { common: { MAX_ATTEMPTS: String(maxAttempts) } });
  const { environment } = scenario;
  // A fault in the card service's own database that no retry can cure.
  await query(
    environment.cardDbUrl,
    `CREATE FUNCTION refuse_user() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN IF NEW.name = '${refusedName}' THEN RAISE EXCEPTION 'user % is refused by a trigger', NEW.id; END IF; RETURN NEW; END $$`,
  );
  await query(
    environment.cardDbUrl,
    'CREATE TRIGGER refuse_user BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_user()',
  );

  const flow = startFlow(() => scenario.users.url, 20, 's7');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 10);
  const refusedId = randomUUID();
  await publishRaw(environment.userQueue, ['{"id": "unterminated'], { messageId: 'not-json' });
  await publishRaw(environment.userQueue, [JSON.stringify({ id: 42, name: ['x'], email: 'not an email' })], {
    messageId: 'invalid',
  });
  await publishRaw(
    environment.userQueue,
    [
      JSON.stringify({
        id: refusedId,
        name: refusedName,
        email: 'refused@example.com',
        created_at: new Date().toISOString(),
      }),
    ],
    { messageId: 'refused' },
  );
  await publishRaw(environment.cardQueue, [Buffer.from([0xff, 0xfe, 0x00, 0x01])], { messageId: 'binary' });
  await publishRaw(environment.cardQueue, [Buffer.alloc(70_000, 'x')], { messageId: 'oversize' });
  await flowReached(flow, flow.created.length + 20);
  const created = await flow.stop();

  const report = await checkInvariants({
    environment,
    createdUserIds: created,
    expectedDeadLetters: [
      { queue: environment.userQueue, reason: /not JSON/ },
      { queue: environment.userQueue, reason: /fails validation/ },
      { queue: environment.userQueue, reason: /refused by a trigger/ },
      { queue: environment.cardQueue, reason: /not JSON/ },
      { queue: environment.cardQueue, reason: /exceeds the limit/ },
    ],
  });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, created.length);

  const dead = new Map(
    [...(await peekQueue(`${environment.userQueue}.dead`)), ...(await peekQueue(`${environment.cardQueue}.dead`))].map(
      (message) => [String(message.properties.messageId), message.properties.headers ?? {}],
    ),
  );
  t.is(dead.get('refused')![deadLetterHeader.attempts], maxAttempts, 'retried up to the bound, then dead-lettered');
  t.is(dead.get('refused')![deadLetterHeader.kind], 'transient');
  for (const id of ['not-json', 'invalid', 'binary', 'oversize']) {
    t.is(dead.get(id)![deadLetterHeader.attempts], 1, `${id} is poison at once: no retry`);
    t.is(dead.get(id)![deadLetterHeader.kind], 'poison');
  }
  t.deepEqual(await query(environment.cardDbUrl, 'SELECT id FROM users WHERE id = $1', [refusedId]), []);
  const deliveryAttempts = scenario.cards.logs.filter(
    (line) => line.machine === 'delivery' && line.messageId === 'refused' && line.to === 'rollingBack',
  );
  t.is(deliveryAttempts.length, maxAttempts);
});
