// Issue 15, a minority partition: one node of a three-node cluster (each node in a network namespace of its
// own) is cut off from the other two while the services' link to it stays up, so the processes connected
// to it keep a working TCP connection to a node that can no longer reach a quorum. With pause_minority
// that node pauses itself and closes their connections; they must fail over to the majority, which carries
// on, and nothing may be lost or doubled. Then the partition heals and the node rejoins.
import test from 'ava';
import { flowReached, startFlow } from '../support/load.js';
import {
  checkClusterSetup,
  checkNothingLostOrDoubled,
  checkStillRunning,
  healAndRejoin,
  leaderOf,
  leaveMachineAsFound,
} from '../support/partition-checks.js';
import { mainNodeState } from '../support/rabbitmq-cluster.js';
import { startNetnsRabbitCluster, type NetnsNode } from '../support/rabbitmq-netns-cluster.js';
import {
  processesOn,
  reconnectCounts,
  firstCardsAfter,
  startSpreadScenario,
  timeFrom,
  waitCardStoredFor,
  waitMovedOff,
} from '../support/spread-scenario.js';
import { phases } from '../support/phases.js';
import { waitUntil } from '../support/wait.js';

test('a minority partition of the node some instances use: it pauses, they fail over, the majority carries on, nothing lost or doubled', async (t) => {
  const phase = phases(t, 20 * 60_000);
  const mainBefore = await mainNodeState();
  phase('starting a three-node cluster in network namespaces');
  const cluster = await startNetnsRabbitCluster();
  t.teardown(() => cluster.tearDown());
  const [isolated, ...majority] = cluster.nodes as [NetnsNode, NetnsNode, NetnsNode];

  phase('starting three instances of each service');
  const scenario = await startSpreadScenario(t, 'partminority', cluster, {
    instances: 3,
    common: { PUBLISH_TIMEOUT_MS: '2000' },
  });
  const processes = scenario.all();
  await checkClusterSetup(t, cluster, scenario.environment);
  const onIsolated = processesOn(processes, isolated);
  t.is(onIsolated.length, 2, 'one user and one card instance start on the node to be isolated');

  const leaders = await Promise.all(
    [scenario.environment.userQueue, scenario.environment.cardQueue].map((queue) =>
      leaderOf(cluster, queue, majority[0]),
    ),
  );

  phase('creating users');
  let turn = 0;
  const flow = startFlow(() => scenario.userInstances[turn++ % 3]!.url, 20, 'pmin');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 100);

  phase(`cutting ${isolated.name} off from the other two`);
  const reconnectsBefore = reconnectCounts(onIsolated);
  const cut = Date.now();
  const createdBeforeCut = flow.created.length;
  await cluster.lab.partition(
    isolated.host,
    majority.map((node) => node.host),
  );
  const [pausedMs, failoverMs, firstCardMs] = await Promise.all([
    timeFrom(
      cut,
      waitUntil(async () => !(await cluster.isRunning(isolated)), {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: `${isolated.name} to pause`,
      }),
    ),
    timeFrom(cut, waitMovedOff(onIsolated, isolated)),
    timeFrom(
      cut,
      waitCardStoredFor(scenario.environment, () => flow.created.slice(createdBeforeCut)),
    ),
  ]);
  phase(`paused after ${pausedMs} ms, failed over after ${failoverMs} ms; 200 users more during the partition`);
  await flowReached(flow, createdBeforeCut + 200, 180_000);
  const createdDuringPartition = flow.created.length - createdBeforeCut;

  phase('healing the partition');
  const rejoin = await healAndRejoin(cluster, isolated);
  phase(`rejoined in ${rejoin.ms} ms; 100 users more`);
  await flowReached(flow, flow.created.length + 100, 180_000);
  const created = await flow.stop();
  phase('checking that nothing was lost or doubled');

  const report = await checkNothingLostOrDoubled(t, cluster, scenario.environment, created);
  onIsolated.forEach((process, index) =>
    t.true(
      reconnectCounts([process])[0]! > reconnectsBefore[index]!,
      `instance ${index} on the isolated node noticed and reconnected`,
    ),
  );
  checkStillRunning(t, scenario);
  const hops = await firstCardsAfter(scenario.environment, cut);
  t.log(
    `first card of a user created after the fault: issued ${hops.issuedMs} ms, stored ${hops.storedMs} ms after it began`,
  );
  t.log(
    `queue leaders before the cut: ${leaders.map((node) => node.name).join(', ')} (user, card); cut → ${isolated.name} paused ${pausedMs} ms; → its ${onIsolated.length} processes on the majority ${failoverMs} ms; → first card stored for a user created after the cut ${firstCardMs} ms`,
  );
  t.log(
    `${created.length} users (${createdDuringPartition} during the partition, ${flow.failures} given up); healed: rejoined ${rejoin.restarted ? 'after a restart of its application' : 'by itself'} in ${rejoin.ms} ms; drained ${report.drainMs} ms after the flow stopped; lost ${report.lost}, doubled ${report.doubled}, dead letters ${report.deadLettered}`,
  );
  phase('tearing the cluster down');
  await leaveMachineAsFound(t, scenario, cluster, mainBefore);
});
