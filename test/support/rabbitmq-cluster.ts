/**
 * A throwaway RabbitMQ cluster on this machine, beside (never touching) its own node: each node has its
 * own name, ports, config, data and log directories under one temporary folder, runs as the rabbitmq user
 * and shares that user's Erlang cookie and the machine's epmd. Torn down with every node stopped (killed if
 * it does not stop) and the folder deleted.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './service-process.js';
import { serverOutput, spawnNode, writeNodeFiles } from './rabbitmq-node.js';
import { rabbitmqctl } from './services-control.js';
import { alive, systemUserIds } from './system-processes.js';
import { waitUntil } from './wait.js';

export interface ClusterNode {
  /** Erlang node name, e.g. ackstate-c1-1a2b3c@localhost. */
  readonly name: string;
  readonly port: number;
  readonly amqpUrl: string;
  readonly dir: string;
  readonly child: ChildProcess;
  /** False once the test stopped it. */
  running: boolean;
}

export interface RabbitCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's URL, comma-separated, as AMQP_URL takes them. */
  readonly amqpUrls: string;
  /** A node still running, for rabbitmqctl and AMQP checks. */
  runningNode(): ClusterNode;
  /** Stops one node's Erlang VM (rabbitmqctl stop) and waits until its process is gone. */
  stopNode(node: ClusterNode): Promise<void>;
  /** The node each client connection with this name is on (told by the server port it reached). */
  connectionNodes(connectionName: string): Promise<ClusterNode[]>;
  /** True once every node's VM has exited and the folder is gone. */
  isGone(): boolean;
  /** Stops every node it started, kills any left, removes the folder. Safe to call twice. */
  tearDown(): Promise<void>;
}

export const rabbitmqIds = () => systemUserIds('rabbitmq');

/** The VM's pid, from the pid file the node writes once it runs; remembered, since tearDown deletes the file. */
const knownPids = new WeakMap<ClusterNode, number>();
const beamPid = (node: ClusterNode): number | undefined => {
  try {
    const pid = Number(readFileSync(path.join(node.dir, 'pid'), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0) knownPids.set(node, pid);
  } catch {
    // not written yet, or removed with the folder
  }
  return knownPids.get(node);
};

async function startNode(
  root: string,
  index: number,
  suffix: string,
  ids: { uid: number; gid: number },
): Promise<ClusterNode> {
  const name = `ackstate-c${index}-${suffix}@localhost`;
  const port = await freePort();
  const distPort = await freePort();
  const dir = path.join(root, `c${index}`);
  // Its own config files, so that nothing of /etc/rabbitmq (the machine's node's listener on 5672, its
  // node name in rabbitmq-env.conf, its plugins) applies to this node.
  writeNodeFiles(dir, [`listeners.tcp.1 = 127.0.0.1:${port}`], ids);
  const child = spawnNode(dir, {
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    // As the machine's node is set up: epmd and distribution on loopback only.
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  });
  return { name, port, amqpUrl: `amqp://guest:guest@127.0.0.1:${port}`, dir, child, running: true };
}

async function awaitStartup(node: ClusterNode): Promise<void> {
  // await_startup fails at once until the node has registered with epmd, hence the polling around it.
  await waitUntil(
    async () => {
      if (node.child.exitCode !== null) throw new Error(`rabbitmq-server exited with ${node.child.exitCode}`);
      await rabbitmqctl('-n', node.name, 'await_startup', '--timeout', '60');
      return true;
    },
    { timeoutMs: 180_000, intervalMs: 500, what: () => `${node.name} to start; its output: ${serverOutput(node.dir)}` },
  );
}

export async function runningNodes(node: ClusterNode): Promise<string[]> {
  const status = JSON.parse(await rabbitmqctl('-n', node.name, 'cluster_status', '--formatter', 'json', '-q')) as {
    running_nodes: string[];
  };
  return status.running_nodes;
}

export async function startRabbitCluster(size = 3): Promise<RabbitCluster> {
  if (process.getuid?.() !== 0)
    throw new Error('starting RabbitMQ nodes as the rabbitmq user needs root (runuser, chown)');
  const ids = rabbitmqIds();
  const root = mkdtempSync(path.join(tmpdir(), 'ackstate-rabbit-'));
  chownSync(root, ids.uid, ids.gid);
  const suffix = randomBytes(3).toString('hex');
  const nodes: ClusterNode[] = [];

  const stopNode = async (node: ClusterNode) => {
    node.running = false;
    const pid = beamPid(node);
    await rabbitmqctl('-n', node.name, 'stop').catch(() => {});
    await waitUntil(() => !alive(pid) && node.child.exitCode !== null, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: `${node.name} (pid ${pid}) to exit`,
    });
  };

  // Last resort if the test process ends without its teardown (a runner timeout, a crash): no node of
  // ours may outlive it. Synchronous, as 'exit' handlers must be.
  const killLeftovers = () => {
    for (const node of nodes) {
      const pid = beamPid(node);
      if (alive(pid)) process.kill(pid!, 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killLeftovers);

  let tornDown = false;
  const tearDown = async () => {
    if (tornDown) return;
    tornDown = true;
    process.off('exit', killLeftovers);
    for (const node of nodes) {
      if (node.running) await stopNode(node).catch(() => {});
      // Whatever did not stop: the VM by its pid file, then the process group runuser leads.
      const pid = beamPid(node);
      if (alive(pid)) process.kill(pid!, 'SIGKILL');
      if (node.child.exitCode === null && node.child.pid) {
        try {
          process.kill(-node.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    await waitUntil(() => nodes.every((node) => !alive(beamPid(node))), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'every node of the test cluster to be gone',
    }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  };

  try {
    for (let index = 1; index <= size; index += 1) nodes.push(await startNode(root, index, suffix, ids));
    await Promise.all(nodes.map(awaitStartup));
    const [first, ...others] = nodes;
    for (const node of others) {
      await rabbitmqctl('-n', node.name, 'stop_app');
      await rabbitmqctl('-n', node.name, 'join_cluster', first!.name);
      await rabbitmqctl('-n', node.name, 'start_app');
      await rabbitmqctl('-n', node.name, 'await_startup', '--timeout', '120');
    }
    const running = await runningNodes(first!);
    if (running.length !== size) throw new Error(`the cluster runs ${running.join(', ')}, expected ${size} nodes`);
  } catch (error) {
    await tearDown();
    throw error;
  }

  const runningNode = () => {
    const node = nodes.find((candidate) => candidate.running);
    if (!node) throw new Error('no node of the test cluster is running');
    return node;
  };
  return {
    nodes,
    amqpUrls: nodes.map((node) => node.amqpUrl).join(','),
    runningNode,
    stopNode,
    async connectionNodes(connectionName) {
      // Listed cluster-wide, whichever node is asked; `port` is the server's port, so it tells the node.
      const output = await rabbitmqctl(
        '-n',
        runningNode().name,
        'list_connections',
        'port',
        'client_properties',
        '--formatter',
        'json',
        '-q',
      );
      const connections = JSON.parse(output) as { port: number; client_properties: unknown }[];
      return connections
        .filter((connection) => JSON.stringify(connection.client_properties).includes(`"${connectionName}"`))
        .map((connection) => nodes.find((node) => node.port === connection.port))
        .filter((node): node is ClusterNode => node !== undefined);
    },
    isGone() {
      return nodes.every((node) => !alive(beamPid(node)) && node.child.exitCode !== null) && !existsSync(root);
    },
    tearDown,
  };
}

/** The machine's own node: whether it runs, its VM's pid (a restart changes it), and the nodes of its cluster. */
export async function mainNodeState(): Promise<{ running: boolean; pid?: number; clusterNodes: string[] }> {
  try {
    const { pid } = JSON.parse(await rabbitmqctl('status', '--formatter', 'json', '-q')) as { pid: number };
    const status = JSON.parse(await rabbitmqctl('cluster_status', '--formatter', 'json', '-q')) as {
      disk_nodes?: string[];
      ram_nodes?: string[];
      running_nodes: string[];
    };
    const clusterNodes = [...(status.disk_nodes ?? []), ...(status.ram_nodes ?? []), ...status.running_nodes];
    return { running: true, pid, clusterNodes: [...new Set(clusterNodes)].sort() };
  } catch {
    return { running: false, clusterNodes: [] };
  }
}
