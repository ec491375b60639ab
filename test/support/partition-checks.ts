/** The checks every partition test (test/distributed/rabbitmq-partition-*.test.ts) makes, before and after its fault. */
import type { ExecutionContext } from 'ava';
import type { TestEnvironment } from './environment.js';
import { checkInvariants, type InvariantReport } from './invariants.js';
import { mainNodeState } from './rabbitmq-cluster.js';
import type { NetnsCluster, NetnsNode } from './rabbitmq-netns-cluster.js';
import { queueInfo } from './services-control.js';
import type { SpreadScenario } from './spread-scenario.js';

/** The work queues and their dead-letter queues of one test. */
export const queuesOf = (environment: TestEnvironment) => [
  environment.userQueue,
  environment.cardQueue,
  `${environment.userQueue}.dead`,
  `${environment.cardQueue}.dead`,
];

/** Every node runs the partition handling the docs recommend, and every queue is a quorum queue on all three. */
export async function checkClusterSetup(t: ExecutionContext, cluster: NetnsCluster, environment: TestEnvironment) {
  for (const node of cluster.nodes) {
    t.is(
      (await cluster.ctl(node, 'eval', 'application:get_env(rabbit, cluster_partition_handling).')).trim(),
      '{ok,pause_minority}',
      `${node.name} handles partitions with pause_minority`,
    );
    t.is(
      (await cluster.ctl(node, 'eval', 'net_kernel:get_net_ticktime().')).trim(),
      String(cluster.settings.netTicktime),
      `${node.name} runs with net_ticktime ${cluster.settings.netTicktime}`,
    );
  }
  const queues = (await queueInfo(cluster.nodes[1]!.name, ['name', 'type', 'members'])) as {
    name: string;
    type: string;
    members: string[];
  }[];
  for (const name of queuesOf(environment)) {
    const queue = queues.find((entry) => entry.name === name);
    t.is(queue?.type, 'quorum', `${name} is a quorum queue`);
    t.deepEqual(queue?.members.sort(), cluster.nodes.map((node) => node.name).sort(), `${name} is on every node`);
  }
}

/** The node that leads a queue now. */
export async function leaderOf(cluster: NetnsCluster, queue: string, ask: NetnsNode): Promise<NetnsNode> {
  const queues = (await queueInfo(ask.name, ['name', 'leader'])) as { name: string; leader: string }[];
  const leader = cluster.nodes.find((node) => node.name === queues.find((entry) => entry.name === queue)?.leader);
  if (!leader) throw new Error(`no leader known for ${queue}`);
  return leader;
}

/** The invariant checker, against a node of the majority; every figure must be clean. */
export async function checkNothingLostOrDoubled(
  t: ExecutionContext,
  cluster: NetnsCluster,
  environment: TestEnvironment,
  created: readonly string[],
): Promise<InvariantReport> {
  const node = cluster.nodes[1]!;
  const report = await checkInvariants({
    environment,
    createdUserIds: created,
    broker: { node: node.name, amqpUrl: node.amqpUrl },
    timeoutMs: 240_000,
  });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users, 'every user has exactly one card in both databases');
  t.is(report.lost, 0);
  t.is(report.doubled, 0);
  t.is(report.deadLettered, 0);
  t.true(report.users >= created.length);
  return report;
}

/** Every process ran through the fault without exiting. */
export function checkStillRunning(t: ExecutionContext, scenario: SpreadScenario) {
  scenario.all().forEach((process, index) => t.is(process.child.exitCode, null, `process ${index} is still running`));
}

/**
 * Stops the services, tears the cluster down and checks that nothing of it is left and that the machine's
 * own node runs as before.
 */
export async function leaveMachineAsFound(
  t: ExecutionContext,
  scenario: SpreadScenario,
  cluster: NetnsCluster,
  mainBefore: Awaited<ReturnType<typeof mainNodeState>>,
) {
  await scenario.stop();
  await cluster.tearDown();
  t.deepEqual(cluster.leftovers(), [], 'no namespace, link, process or folder of the test cluster is left');
  t.deepEqual(await mainNodeState(), mainBefore, "the machine's own node runs as before, alone in its cluster");
}

/** How the cluster became whole again after a heal. */
export interface Rejoin {
  readonly ms: number;
  /** True when the paused node did not start by itself and was restarted, as an operator would. */
  readonly restarted: boolean;
}

/**
 * Heals the lab's partition and waits for the cluster to be whole. A node paused by pause_minority
 * normally starts again by itself; once in a few runs here it stayed paused (docs/partitions.md). The
 * test is about the services, not RabbitMQ's recovery, so after 90 s the paused node's application is
 * restarted, as the docs tell an operator to, and when even `stop_app` does not answer (seen once), the
 * node itself is restarted; the test says which happened.
 */
export async function healAndRejoin(cluster: NetnsCluster, paused: NetnsNode): Promise<Rejoin> {
  const healing = Date.now();
  await cluster.lab.heal();
  try {
    await cluster.waitHealthy(90_000);
    return { ms: Date.now() - healing, restarted: false };
  } catch {
    try {
      await cluster.ctl(paused, 'stop_app');
      await cluster.ctl(paused, 'start_app');
    } catch {
      await cluster.restart(paused);
    }
    await cluster.waitHealthy(120_000);
    return { ms: Date.now() - healing, restarted: true };
  }
}
