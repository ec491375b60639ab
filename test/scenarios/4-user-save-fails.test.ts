// Seed scenario 4: the user service receives a card but fails to save it. The delivery is rolled back,
// retried with backoff (in process: the failure is the message's own, not an outage's) and saved later, once.
import test from 'ava';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { entered, startScenario } from '../support/scenario.js';

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

  const users = scenario.users;
  const rolledBack = entered(users, 'delivery', 'rollingBack');
  t.is(rolledBack.length, failures);
  t.true(rolledBack.every((line) => line.queue === scenario.environment.cardQueue));
  // Two cards that arrive together share a batch: that batch's failure is split (each card runs again alone)
  // instead of waiting and retrying. Which failures met a batch depends on arrival timing, so count both.
  const alone = rolledBack.filter((line) => line.batch === undefined);
  const together = rolledBack.filter((line) => line.batch !== undefined);
  t.is(
    entered(users, 'delivery', 'backingOff').length,
    alone.length,
    'each failure of a lone card waited before its retry',
  );
  // `splitting` passes in the same macrostep as the rollback's end: the log shows the batch ending `split`.
  const split = users.logs.filter(
    (line) => line.machine === 'delivery' && line.to === 'done' && line.outcome === 'split',
  );
  t.is(split.length, together.length, 'each failed batch was split');
  const retriedIds = new Set(alone.map((line) => line.messageId));
  // A retried card may run again in a batch: its message's own line (one per message, a batch's
  // included) says it was acked.
  const saved = users.logs.filter(
    (line) => line.message !== 'transition' && line.outcome === 'acked' && retriedIds.has(line.messageId),
  );
  t.is(saved.length, retriedIds.size, 'every card that failed was saved later, once');
  // The failure is the message's own, not an outage's: it was retried in this process after the backoff,
  // held unacked meanwhile, not nacked and redelivered by the broker.
  t.true(
    saved.every((line) => line.redelivered === false),
    'each retry ran in process',
  );
  t.deepEqual(entered(users, 'delivery', 'deadLettering'), []);
});
