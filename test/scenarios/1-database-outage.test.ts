// Seed scenario 1: the database connection fails. The card service's sessions are terminated and its
// database is unreachable for several seconds (a proxy on loopback that the test cuts and restores).
import test from 'ava';
import { databaseName } from '../../src/db/database.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { entered, startScenario } from '../support/scenario.js';
import { terminateSessions } from '../support/services-control.js';
import { startTcpProxy, throughProxy } from '../support/tcp-proxy.js';
import { waitUntil, sleep } from '../support/wait.js';

test('while the card database is unreachable, deliveries back off, the consumer pauses and resumes, and every user gets one card', async (t) => {
  const proxy = await startTcpProxy(5432);
  t.teardown(() => proxy.close());
  const scenario = await startScenario(t, 's1db', {});
  const { environment } = scenario;
  const cards = await scenario.restartCards({ CARD_DB_URL: throughProxy(environment.cardDbUrl, proxy) });

  const flow = startFlow(() => scenario.users.url, 25, 's1');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 30);
  t.true((await terminateSessions(databaseName(environment.cardDbUrl))) > 0, 'sessions were terminated');
  proxy.cut();
  await waitUntil(() => entered(cards, 'consumer', 'paused').length > 0, { what: 'the card consumer to pause' });
  await sleep(4_000); // the outage lasts a while
  const createdDuringOutage = flow.created.length;
  proxy.restore();
  await flowReached(flow, createdDuringOutage + 30);
  const created = await flow.stop();

  const report = await checkInvariants({ environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);
  t.true(report.users >= 60);

  const backedOff = cards.logs.filter((line) => line.machine === 'delivery' && line.to === 'backingOff');
  t.true(backedOff.length > 0, 'deliveries that met the outage backed off');
  t.true(entered(cards, 'consumer', 'resuming').length > 0, 'the consumer resumed');
  const pausedAt = cards.logs.indexOf(entered(cards, 'consumer', 'paused')[0]!);
  t.true(cards.logs.slice(pausedAt).some((line) => line.machine === 'consumer' && line.to === 'consuming'));
  t.deepEqual(
    cards.logs.filter((line) => line.machine === 'delivery' && line.to === 'deadLettering'),
    [],
    'an outage never dead-letters a message',
  );
});
