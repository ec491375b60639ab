// The short chaos run of `npm test`: two instances of each service, users at a steady rate, and a seeded
// schedule of every kind of fault; nothing may be lost, doubled or crash.
import test from 'ava';
import { formatReport, runChaos } from '../chaos/run.js';
import { faultKinds } from '../chaos/schedule.js';

test('a short seeded chaos run loses nothing and doubles nothing', async (t) => {
  // Seed 2 draws every kind of fault within 30 seconds (checked below, so a change of schedule shows).
  const report = await runChaos({
    seed: 2,
    durationMs: 30_000,
    usersPerSecond: 10,
    meanGapMs: 3_000,
    instances: 2,
    log: t.log,
  });
  t.log(`\n${formatReport(report)}`);
  t.deepEqual(report.violations, []);
  t.is(report.lost, 0);
  t.is(report.doubled, 0);
  t.is(report.withExactlyOneCard, report.users);
  t.true(report.created >= 200);
  for (const kind of faultKinds) t.true(report.faults[kind] > 0, `the run injected ${kind}`);
});
