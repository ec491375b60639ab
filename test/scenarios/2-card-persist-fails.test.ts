// Seed scenario 2: the card service receives a user but fails to create the card. A fault injected inside
// the transaction fails the first attempts; each rolls back, is retried with backoff, and exactly one card
// results per user.
import test from 'ava';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { checkRetriedInProcess, startScenario } from '../support/scenario.js';

const failures = 3; // below MAX_ATTEMPTS, so even one message meeting all of them is retried, not dead-lettered

test('a card that fails to be created rolls back, is retried, and ends as exactly one card', async (t) => {
  const scenario = await startScenario(t, 's2persist', { card: { FAILPOINTS: `card.persist=error*${failures}` } });
  const flow = startFlow(() => scenario.users.url, 20, 's2');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 40);
  const created = await flow.stop();

  const report = await checkInvariants({ environment: scenario.environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);

  const rolledBack = checkRetriedInProcess(t, scenario.cards);
  t.is(rolledBack.length, failures, 'each injected failure rolled its transaction back');
  t.true(rolledBack.every((line) => /failpoint card\.persist/.test(String(line.error))));
});
