// Issue 15, a partition during a backlog: thousands of user messages wait in a quorum queue (the card
// service not running yet), then the card instances start draining them and, as they do, the node that leads
// the queue is cut off from the other two. A new leader must take over with the backlog in its log, the
// processes on the cut node must fail over, and the majority must drain the backlog with nothing lost or
// doubled while users keep being created.
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
import { startNetnsRabbitCluster } from '../support/rabbitmq-netns-cluster.js';
import { query } from '../support/environment.js';
import { queueInfo } from '../support/services-control.js';
import {
  processesOn,
  reconnectCounts,
  firstCardsAfter,
  startSpreadScenario,
  timeFrom,
  storedCards,
  waitMovedOff,
} from '../support/spread-scenario.js';
import { phases } from '../support/phases.js';
import { waitUntil } from '../support/wait.js';

// Deep enough that thousands still wait at the cut however fast the card instances drain (about 2,000 go
// between their first card and the cut at the default batch sizes).
const backlog = 8_000;

test('a partition of the queue leader during a backlog of thousands: the majority drains it, nothing lost or doubled', async (t) => {
  const phase = phases(t, 20 * 60_000);
  const mainBefore = await mainNodeState();
  phase('starting a three-node cluster in network namespaces');
  const cluster = await startNetnsRabbitCluster();
  t.teardown(() => cluster.tearDown());
  phase('starting three user instances');
  const scenario = await startSpreadScenario(t, 'partbacklog', cluster, {
    instances: 3,
    startCards: false,
    common: { PUBLISH_TIMEOUT_MS: '2000' },
  });
  const { environment, userInstances } = scenario;
  let turn = 0;
  const nextUser = () => userInstances[turn++ % userInstances.length]!.url;

  phase(`creating a backlog of ${backlog} users`);
  const burst = startFlow(nextUser, 200, 'pblb', backlog);
  t.teardown(() => burst.abandon());
  await waitUntil(() => burst.started >= backlog, { timeoutMs: 120_000, what: `${backlog} requests begun` });
  const backlogUsers = await burst.stop();
  const observer = cluster.nodes[1]!;
  const ready = async () => {
    const queues = (await queueInfo(observer.name, ['name', 'messages_ready'])) as {
      name: string;
      messages_ready: number;
    }[];
    return queues.find((queue) => queue.name === environment.userQueue)?.messages_ready ?? 0;
  };
  const unsent = async () =>
    Number(
      (await query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'))[0]!
        .n,
    );
  let queued = 0;
  await waitUntil(async () => (await unsent()) === 0 && (queued = await ready()) >= backlogUsers.length, {
    timeoutMs: 180_000,
    intervalMs: 500,
    what: async () =>
      `${backlogUsers.length} user messages to wait in ${environment.userQueue}: ${queued} ready, ${await unsent()} unsent`,
  });

  phase('starting three card instances');
  // The user instances declared every queue of the topology; the card instances add only their consumers.
  await checkClusterSetup(t, cluster, environment);
  const leader = await leaderOf(cluster, environment.userQueue, observer);
  const majority = cluster.nodes.filter((node) => node !== leader);
  const flow = startFlow(nextUser, 20, 'pbl');
  t.teardown(() => flow.abandon());
  await scenario.add('card', 3);
  const onLeader = processesOn(scenario.all(), leader);
  t.true(onLeader.length >= 2, `a user and a card instance are connected to the leader ${leader.name}`);
  await waitUntil(async () => (await storedCards(environment)) > 0, {
    timeoutMs: 120_000,
    intervalMs: 20,
    what: 'the card instances to start draining the backlog',
  });

  phase(`cutting the queue leader ${leader.name} off from the other two`);
  const reconnectsBefore = reconnectCounts(onLeader);
  const cut = Date.now();
  await cluster.lab.partition(
    leader.host,
    majority.map((node) => node.host),
  );
  const storedAtCut = await storedCards(environment, backlogUsers);
  const waitingAtCut = backlogUsers.length - storedAtCut;
  t.true(waitingAtCut >= 1_000, `thousands of the backlog's users still wait for a card at the cut (${waitingAtCut})`);
  const [failoverMs, progressMs, drainedMs] = await Promise.all([
    timeFrom(cut, waitMovedOff(onLeader, leader)),
    timeFrom(
      cut,
      waitUntil(async () => (await storedCards(environment, backlogUsers)) >= storedAtCut + 100, {
        timeoutMs: 180_000,
        intervalMs: 200,
        what: '100 more cards stored after the cut',
      }),
    ),
    timeFrom(
      cut,
      waitUntil(async () => (await storedCards(environment, backlogUsers)) === backlogUsers.length, {
        timeoutMs: 240_000,
        intervalMs: 500,
        what: 'the backlog to be drained through the majority',
      }),
    ),
  ]);
  const newLeader = await leaderOf(cluster, environment.userQueue, majority[0]!);
  t.not(newLeader, leader, 'a node of the majority leads the queue now');

  phase(`drained ${drainedMs} ms after the cut; healing the partition`);
  const rejoin = await healAndRejoin(cluster, leader);
  phase(`rejoined in ${rejoin.ms} ms; 60 users more`);
  await flowReached(flow, flow.created.length + 60, 180_000);
  const created = [...backlogUsers, ...(await flow.stop())];
  phase('checking that nothing was lost or doubled');

  const report = await checkNothingLostOrDoubled(t, cluster, environment, created);
  onLeader.forEach((process, index) =>
    t.true(
      reconnectCounts([process])[0]! > reconnectsBefore[index]!,
      `instance ${index} on the cut leader reconnected`,
    ),
  );
  checkStillRunning(t, scenario);
  const hops = await firstCardsAfter(scenario.environment, cut);
  t.log(
    `first card of a user created after the fault: issued ${hops.issuedMs} ms, stored ${hops.storedMs} ms after it began`,
  );
  t.log(
    `backlog: ${backlogUsers.length} users, ${queued} messages queued, ${waitingAtCut} still without a card at the cut of the leader ${leader.name}; new leader ${newLeader.name}`,
  );
  t.log(
    `cut → its ${onLeader.length} processes on the majority ${failoverMs} ms; → 100 more cards stored ${progressMs} ms; → backlog drained ${drainedMs} ms; healed: rejoined ${rejoin.restarted ? 'after a restart of its application' : 'by itself'} in ${rejoin.ms} ms`,
  );
  t.log(
    `${created.length} users in all (${flow.failures + burst.failures} given up); drained ${report.drainMs} ms after the flow stopped; lost ${report.lost}, doubled ${report.doubled}, dead letters ${report.deadLettered}`,
  );
  phase('tearing the cluster down');
  await leaveMachineAsFound(t, scenario, cluster, mainBefore);
});
