// Seed scenario 4: the user service receives a card but fails to save it. The delivery is rolled back,
// retried with backoff (in process: the failure is the message's own, not an outage's) and saved later, once.
import test from 'ava';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { checkRetriedInProcess, startScenario } from '../support/scenario.js';

const failures = 3;

test('a card the user service fails to save is retried with backoff and saved later, once', async (t) => {
  const scenario = await startScenario(t, 's4save', { user: { FAILPOINTS: `user.persist=error*${failures}` } });
  const flow = startFlow(() => scenario.users.url, 20, 's4');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 40);
  const created = await flow.stop();

  const report = await checkInvariants({ environment: scenario.environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);

  const rolledBack = checkRetriedInProcess(t, scenario.users);
  t.is(rolledBack.length, failures);
  t.true(rolledBack.every((line) => line.queue === scenario.environment.cardQueue));
});
