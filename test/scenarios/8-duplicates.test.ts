// Duplicates, which at-least-once delivery makes certain: the same user message published again (with
// its message id, and without one as the seed's producers send it), and a delivery redelivered after its
// commit but before its ack because the process died in between. Each user still has exactly one card.
import test from 'ava';
import { publishRaw } from '../support/broker.js';
import { query } from '../support/environment.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { startScenario } from '../support/scenario.js';
import { waitUntil } from '../support/wait.js';
import { messageOutcomes } from '../support/outcomes.js';

test('repeated user messages and a redelivery after commit leave exactly one card per user', async (t) => {
  const scenario = await startScenario(t, 's8dup', { card: { FAILPOINTS: 'card.beforeAck=exit*1' } });
  const { environment } = scenario;
  const flow = startFlow(() => scenario.users.url, 20, 's8');
  t.teardown(() => flow.abandon());

  // The card service dies on its first ack: that delivery is committed and will come back.
  t.is(await scenario.cards.exited, 137);
  const cards = await scenario.restartCards({});
  await flowReached(flow, 20);

  const sent = await query<{ id: string; body: string }>(
    environment.userDbUrl,
    'SELECT id, body FROM outbox WHERE sent_at IS NOT NULL ORDER BY created_at LIMIT 5',
  );
  t.is(sent.length, 5);
  for (const { id, body } of sent) {
    await publishRaw(environment.userQueue, [body], { messageId: id, contentType: 'application/json' });
    await publishRaw(environment.userQueue, [body]); // as the seed's producers publish: no id, no type
  }
  await flowReached(flow, flow.created.length + 10);
  const created = await flow.stop();

  const report = await checkInvariants({ environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);
  const duplicates = () =>
    messageOutcomes(cards.logs, environment.userQueue).filter((line) => line.outcome === 'duplicate');
  await waitUntil(() => duplicates().length >= 11, {
    what: 'the ten repeats and the redelivery to be seen as duplicates',
  });
  t.true(
    duplicates().some((line) => line.redelivered === true),
    'the delivery cut off before its ack came back as a duplicate',
  );
  t.is(duplicates().filter((line) => line.redelivered !== true).length, 10, 'each repeated message was absorbed');
});
