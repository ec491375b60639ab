// Seed scenario 2: the card service receives a user but fails to create the card. A fault injected inside
// the transaction fails the first attempts; each rolls back, is retried with backoff, and exactly one card
// results per user.
import test from 'ava';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { entered, startScenario } from '../support/scenario.js';

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

  const cards = scenario.cards;
  const rolledBack = entered(cards, 'delivery', 'rollingBack');
  t.is(rolledBack.length, failures, 'each injected failure rolled its transaction back');
  t.true(rolledBack.every((line) => /failpoint card\.persist/.test(String(line.error))));
  // Two users that arrive together share a batch: that batch's failure is split (each runs again alone)
  // instead of being nacked for a retry. Which failures met a batch depends on arrival timing, so count both.
  const alone = rolledBack.filter((line) => line.batch === undefined);
  const together = rolledBack.filter((line) => line.batch !== undefined);
  const ended = (outcome: string) =>
    cards.logs.filter((line) => line.machine === 'delivery' && line.to === 'done' && line.outcome === outcome);
  t.is(ended('retried').length, alone.length, 'each failure of a lone message was retried');
  t.is(ended('split').length, together.length, 'each failed batch was split');
  const retriedIds = new Set(alone.map((line) => line.messageId));
  // A retried message may run again in a batch: its own line (one per message, a batch's included) says it
  // was acked.
  const retriedAndAcked = cards.logs.filter(
    (line) => line.message !== 'transition' && line.outcome === 'acked' && retriedIds.has(line.messageId),
  );
  t.is(retriedAndAcked.length, retriedIds.size, 'every failed message was later processed, once');
  // The failure is the message's own, not an outage's: it was retried in this process after the backoff,
  // held unacked meanwhile, not nacked and redelivered by the broker.
  t.true(
    retriedAndAcked.every((line) => line.redelivered === false),
    'each retry ran in process',
  );
  t.deepEqual(entered(cards, 'delivery', 'deadLettering'), []);
});
