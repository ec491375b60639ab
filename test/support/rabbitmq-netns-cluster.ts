/**
 * A throwaway three-node RabbitMQ cluster whose links can be cut: each node runs in a network namespace of
 * its own (test/support/netns.ts), with its own epmd, listening on its own address (AMQP on 5672,
 * distribution on 25672), named `rabbit@<address>` with long names so that the names resolve without a
 * hosts file. The nodes run as the rabbitmq user and share its Erlang cookie; rabbitmqctl reaches them from
 * the root namespace over the bridge. The machine's own node (rabbit@localhost, 127.0.0.1) is never touched.
 */
import type { ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onProcessEnd, startNetnsLab, type NetnsHost, type NetnsLab } from './netns.js';
import { rabbitmqIds } from './rabbitmq-cluster.js';
import { serverOutput, spawnNode, writeNodeFiles } from './rabbitmq-node.js';
import { rabbitmqctl } from './services-control.js';
import { waitUntil } from './wait.js';

export interface NetnsNode {
  readonly name: string;
  readonly host: NetnsHost;
  readonly amqpUrl: string;
  readonly dir: string;
  readonly child: ChildProcess;
}

export interface ClusterSettings {
  /** RabbitMQ's `cluster_partition_handling`. */
  readonly partitionHandling: 'pause_minority' | 'autoheal' | 'ignore';
  /** Erlang's net_ticktime in seconds: a silent peer is declared down after 1 to 1.25 times this. */
  readonly netTicktime: number;
}

export interface NetnsCluster {
  readonly lab: NetnsLab;
  readonly nodes: readonly NetnsNode[];
  readonly settings: ClusterSettings;
  /** AMQP_URL for one instance: every node, starting with the `first`-th (0-based), then the others in order. */
  amqpUrls(first: number): string;
  /** rabbitmqctl against one node (long names). */
  ctl(node: NetnsNode, ...args: string[]): Promise<string>;
  /** True while the node's rabbit application runs (false on a node paused by pause_minority). */
  isRunning(node: NetnsNode): Promise<boolean>;
  /** The running nodes as `node` sees them, and the partitions it reports. */
  clusterView(node: NetnsNode): Promise<{ running: string[]; partitions: string[] }>;
  /** Waits until every node runs and sees all the others, with no partition reported. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Kills the node's Erlang VM and starts it again on its own folder (it rejoins the cluster it was in), as an
   * operator restarts a node whose application no longer answers; `nodes` then holds the new process.
   */
  restart(node: NetnsNode): Promise<NetnsNode>;
  /** Nodes, namespaces, links or the folder still present: empty once torn down. */
  leftovers(): string[];
  tearDown(): Promise<void>;
}

function startNode(
  root: string,
  host: NetnsHost,
  settings: ClusterSettings,
  ids: { uid: number; gid: number },
): NetnsNode {
  const name = `rabbit@${host.address}`;
  const dir = path.join(root, `n${host.index}`);
  writeNodeFiles(
    dir,
    [
      `listeners.tcp.1 = ${host.address}:5672`,
      `cluster_partition_handling = ${settings.partitionHandling}`,
      `net_ticktime = ${settings.netTicktime}`,
      // The services connect as guest from the bridge's address, not from loopback.
      'loopback_users = none',
    ],
    ids,
  );
  const env = {
    RABBITMQ_USE_LONGNAME: 'true',
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_IP_ADDRESS: host.address,
    RABBITMQ_NODE_PORT: '5672',
    RABBITMQ_DIST_PORT: '25672',
    // The namespace's own epmd, on its address (and its own loopback, which epmd always adds).
    ERL_EPMD_ADDRESS: host.address,
  };
  const child = spawnNode(dir, env, ['ip', 'netns', 'exec', host.namespace]);
  return { name, host, amqpUrl: `amqp://guest:guest@${host.address}:5672`, dir, child };
}

/**
 * 15 s unless ACKSTATE_TEST_NET_TICKTIME says otherwise: a quarter of RabbitMQ's default 60 s, so that a
 * partition is noticed within the time a test can spend (docs/partitions.md has figures for both).
 */
function defaultNetTicktime(): number {
  const value = Number(process.env.ACKSTATE_TEST_NET_TICKTIME ?? 15);
  if (!Number.isInteger(value) || value < 1)
    throw new Error('ACKSTATE_TEST_NET_TICKTIME must be a whole number of seconds');
  return value;
}

export async function startNetnsRabbitCluster(
  settings: ClusterSettings = { partitionHandling: 'pause_minority', netTicktime: defaultNetTicktime() },
  size = 3,
): Promise<NetnsCluster> {
  const ids = rabbitmqIds();
  const lab = await startNetnsLab(size);
  const root = mkdtempSync(path.join(tmpdir(), 'ackstate-netns-rabbit-'));
  chownSync(root, ids.uid, ids.gid);
  const removeFolder = () => rmSync(root, { recursive: true, force: true });
  const unregister = onProcessEnd(removeFolder);
  const tearDown = async () => {
    await lab.tearDown();
    unregister();
    removeFolder();
  };
  const ctl = (node: NetnsNode, ...args: string[]) => rabbitmqctl('--longnames', '-n', node.name, ...args);
  const nodes = lab.hosts.map((host) => startNode(root, host, settings, ids));
  const awaitStartup = (node: NetnsNode) =>
    waitUntil(
      async () => {
        if (node.child.exitCode !== null) throw new Error(`rabbitmq-server exited with ${node.child.exitCode}`);
        await ctl(node, 'await_startup', '--timeout', '60');
        return true;
      },
      {
        timeoutMs: 180_000,
        intervalMs: 500,
        what: () => `${node.name} to start; its output: ${serverOutput(node.dir)}`,
      },
    );
  const restart = async (node: NetnsNode) => {
    const index = nodes.findIndex((each) => each.name === node.name);
    const running = nodes[index];
    if (running === undefined) throw new Error(`${node.name} is not a node of this cluster`);
    // The server was started detached: its process group holds the VM and everything it started.
    const gone = () => running.child.exitCode !== null || running.child.signalCode !== null;
    if (!gone()) process.kill(-running.child.pid!, 'SIGKILL');
    await waitUntil(async () => gone(), { timeoutMs: 30_000, intervalMs: 100, what: `${node.name} to exit` });
    const started = startNode(root, running.host, settings, ids);
    nodes[index] = started;
    await awaitStartup(started);
    return started;
  };

  const clusterView = async (node: NetnsNode) => {
    const status = JSON.parse(await ctl(node, 'cluster_status', '--formatter', 'json', '-q')) as {
      running_nodes: string[];
      partitions: Record<string, string[]> | string[];
    };
    const partitions = Array.isArray(status.partitions) ? status.partitions : Object.keys(status.partitions);
    return { running: status.running_nodes, partitions };
  };
  const isRunning = async (node: NetnsNode) =>
    (await ctl(node, 'eval', 'rabbit:is_running().').catch(() => 'false')).trim() === 'true';
  const waitHealthy = async (timeoutMs = 120_000) => {
    await waitUntil(
      async () => {
        for (const node of nodes) {
          const view = await clusterView(node);
          if (view.running.length !== nodes.length || view.partitions.length > 0 || !(await isRunning(node)))
            return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 500, what: 'every node of the test cluster to run and see the others' },
    );
  };

  try {
    await Promise.all(nodes.map(awaitStartup));
    const [first, ...others] = nodes;
    for (const node of others) {
      await ctl(node, 'stop_app');
      await ctl(node, 'join_cluster', first!.name);
      await ctl(node, 'start_app');
      await ctl(node, 'await_startup', '--timeout', '120');
    }
    await waitHealthy();
  } catch (error) {
    await tearDown();
    throw error;
  }

  return {
    lab,
    nodes,
    settings,
    amqpUrls: (first) =>
      [...nodes.slice(first % nodes.length), ...nodes.slice(0, first % nodes.length)]
        .map((node) => node.amqpUrl)
        .join(','),
    ctl,
    isRunning,
    clusterView,
    waitHealthy,
    restart,
    leftovers: () => [...lab.leftovers(), ...(existsSync(root) ? [`folder ${root}`] : [])],
    tearDown,
  };
}
