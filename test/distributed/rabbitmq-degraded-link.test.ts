// Issue 15, a link that fails badly rather than cleanly: the network between the services and one node
// (whose links to the other nodes stay whole) first drops 30% of the packets each way, then every packet,
// silently: no reset, no refusal, so only the AMQP heartbeats and timeouts can tell the processes. They must
// carry on (through the lossy link or another node), notice the dead one and fail over, and nothing may be
// lost or doubled. netem is not in this kernel (CONFIG_NET_SCH_NETEM is not set), so the faults are
// iptables drops (random with the statistic match) in the node's namespace.
import test from 'ava';
import { flowReached, startFlow } from '../support/load.js';
import {
  checkClusterSetup,
  checkNothingLostOrDoubled,
  checkStillRunning,
  leaveMachineAsFound,
} from '../support/partition-checks.js';
import { mainNodeState } from '../support/rabbitmq-cluster.js';
import { startNetnsRabbitCluster, type NetnsNode } from '../support/rabbitmq-netns-cluster.js';
import { phases } from '../support/phases.js';
import type { ServiceProcess } from '../support/service-process.js';
import {
  processesOn,
  reconnectCounts,
  since,
  firstCardsAfter,
  startSpreadScenario,
  timeFrom,
  waitCardStoredFor,
  waitMovedOff,
} from '../support/spread-scenario.js';
import { sleep } from '../support/wait.js';

/** The node with the most processes on it now, and those processes. */
function busiestNode(nodes: readonly NetnsNode[], processes: readonly ServiceProcess[]) {
  const [node] = [...nodes].sort((a, b) => processesOn(processes, b).length - processesOn(processes, a).length);
  return { node: node!, on: processesOn(processes, node!) };
}

test('a lossy, then silently dead link between the services and one node: they carry on, notice, fail over, nothing lost or doubled', async (t) => {
  const phase = phases(t, 20 * 60_000);
  const mainBefore = await mainNodeState();
  phase('starting a three-node cluster in network namespaces');
  const cluster = await startNetnsRabbitCluster();
  t.teardown(() => cluster.tearDown());
  phase('starting three instances of each service');
  const scenario = await startSpreadScenario(t, 'degradedlink', cluster, {
    instances: 3,
    common: { PUBLISH_TIMEOUT_MS: '2000' },
  });
  const processes = scenario.all();
  await checkClusterSetup(t, cluster, scenario.environment);
  phase('creating users');
  let turn = 0;
  const flow = startFlow(() => scenario.userInstances[turn++ % 3]!.url, 20, 'pdeg');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 100);

  // 30% loss each way for 30 s.
  const lossy = cluster.nodes[0]!;
  const onLossy = processesOn(processes, lossy);
  const lossyReconnectsBefore = reconnectCounts(onLossy);
  phase(`30% loss each way on the link to ${lossy.name} for 30 s`);
  const lossStarted = Date.now();
  const createdBeforeLoss = flow.created.length;
  await cluster.lab.lossyToServices(lossy.host, 0.3);
  const lossFirstCardMs = await timeFrom(
    lossStarted,
    waitCardStoredFor(scenario.environment, () => flow.created.slice(createdBeforeLoss)),
  );
  await sleep(Math.max(0, 30_000 - since(lossStarted)));
  await cluster.lab.heal();
  const lossReconnects = reconnectCounts(onLossy).map((count, index) => count - lossyReconnectsBefore[index]!);
  const createdDuringLoss = flow.created.length - createdBeforeLoss;

  // Every packet dropped, both ways, until the processes on that node have all moved.
  const { node: dead, on: onDead } = busiestNode(cluster.nodes, processes);
  t.true(onDead.length >= 1, 'some process is connected to the node whose link dies');
  const deadReconnectsBefore = reconnectCounts(onDead);
  phase(`every packet dropped on the link to ${dead.name}`);
  const died = Date.now();
  const createdBeforeDeath = flow.created.length;
  await cluster.lab.lossyToServices(dead.host, 1);
  const [deadFailoverMs, deadFirstCardMs] = await Promise.all([
    timeFrom(died, waitMovedOff(onDead, dead)),
    timeFrom(
      died,
      waitCardStoredFor(scenario.environment, () => flow.created.slice(createdBeforeDeath)),
    ),
  ]);
  phase(`its processes moved after ${deadFailoverMs} ms; 100 users more`);
  await flowReached(flow, flow.created.length + 100, 180_000);
  phase('healing the link; 60 users more');
  await cluster.lab.heal();
  await flowReached(flow, flow.created.length + 60, 180_000);
  const created = await flow.stop();
  phase('checking that nothing was lost or doubled');

  const report = await checkNothingLostOrDoubled(t, cluster, scenario.environment, created);
  onDead.forEach((process, index) =>
    t.true(reconnectCounts([process])[0]! > deadReconnectsBefore[index]!, `instance ${index} noticed the dead link`),
  );
  checkStillRunning(t, scenario);
  const hops = await firstCardsAfter(scenario.environment, died);
  t.log(
    `first card of a user created after the fault: issued ${hops.issuedMs} ms, stored ${hops.storedMs} ms after it began`,
  );
  t.log(
    `30% loss to ${lossy.name} for 30 s: first card for a user created after it began ${lossFirstCardMs} ms; ${createdDuringLoss} users meanwhile; reconnects of its ${onLossy.length} processes: ${lossReconnects.join(', ')}`,
  );
  t.log(
    `link to ${dead.name} dead (every packet dropped): its ${onDead.length} processes on other nodes ${deadFailoverMs} ms later; first card for a user created after it ${deadFirstCardMs} ms`,
  );
  t.log(
    `${created.length} users (${flow.failures} given up); drained ${report.drainMs} ms after the flow stopped; lost ${report.lost}, doubled ${report.doubled}, dead letters ${report.deadLettered}`,
  );
  phase('tearing the cluster down');
  await leaveMachineAsFound(t, scenario, cluster, mainBefore);
});
