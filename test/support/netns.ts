/**
 * A small network of its own on this machine: one network namespace per host, each with a veth pair whose
 * other end is on a bridge in the root namespace. The bridge has the first address of a private /24, so
 * processes in the root namespace (the services, rabbitmqctl) reach every host over it, and the hosts reach
 * each other. Faults are iptables rules inside a host's namespace: they go with the namespace.
 * Torn down (every process in a namespace killed, the namespaces and the bridge deleted) by `tearDown`, or
 * by a process-exit hook if the test process ends first; both are idempotent.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { waitUntil } from './wait.js';

const run = promisify(execFile);

export interface NetnsHost {
  readonly index: number;
  readonly namespace: string;
  readonly address: string;
}

export interface NetnsLab {
  readonly hosts: readonly NetnsHost[];
  /** The root namespace's address on the bridge: where the services' packets come from. */
  readonly gateway: string;
  readonly bridge: string;
  /** Runs a command inside a host's namespace. */
  exec(host: NetnsHost, command: string, ...args: string[]): Promise<string>;
  /** Drops every packet between `host` and each of `others`, both ways (the rules are in each namespace). */
  partition(host: NetnsHost, others: readonly NetnsHost[]): Promise<void>;
  /** Drops each packet between the root namespace and `host` with this probability, both ways. */
  lossyToServices(host: NetnsHost, probability: number): Promise<void>;
  /** Removes every fault: the rules of every namespace. */
  heal(): Promise<void>;
  /** What the lab made that still exists (namespaces, links, processes): empty once torn down. */
  leftovers(): string[];
  tearDown(): Promise<void>;
}

const ipLines = (...args: string[]) => {
  try {
    return execFileSync('ip', args, { encoding: 'utf8' }).split('\n');
  } catch {
    return [];
  }
};

/** Processes whose network namespace is one of these (`net:[inode]`), wherever the namespace's name went. */
function processesIn(inodes: ReadonlySet<string>): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (inodes.has(readlinkSync(`/proc/${entry}/ns/net`))) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

let signalsHandled = false;
/**
 * Runs `cleanUp` when the test process ends without its teardown: on exit, and on the SIGTERM or SIGINT
 * that ava sends a worker that timed out (Node's default for those signals would skip the exit hooks).
 * Returns the function that unregisters it.
 */
export function onProcessEnd(cleanUp: () => void): () => void {
  process.once('exit', cleanUp);
  if (!signalsHandled) {
    signalsHandled = true;
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      process.once(signal, () => process.exit(code));
    }
  }
  return () => process.off('exit', cleanUp);
}

/** A /24 inside 10.213.0.0/16 that no address or route of this machine uses yet. */
function freeSubnet(): string {
  const used = [...ipLines('-4', 'addr'), ...ipLines('-4', 'route', 'show', 'table', 'all')].join('\n');
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const third = 64 + Math.floor(Math.random() * 190);
    if (!used.includes(`10.213.${third}.`)) return `10.213.${third}`;
  }
  throw new Error('no free 10.213.x.0/24 subnet on this machine');
}

const namespacePids = (namespace: string) =>
  ipLines('netns', 'pids', namespace)
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);

function killAll(namespaces: readonly string[]): void {
  for (const namespace of namespaces) {
    for (const pid of namespacePids(namespace)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Kills every process in the namespaces, deletes them and the bridge. Synchronous, for the exit hook. A
 * deleted namespace (with its end of the veth pair) is freed by the kernel once its last process is gone.
 */
function removeSync(namespaces: readonly string[], bridge: string, veths: readonly string[]): void {
  killAll(namespaces);
  // Deleting a veth deletes its peer at once; left to the namespace's end, it goes only when the kernel
  // frees the namespace, some time after `ip netns delete`.
  for (const link of [...veths, bridge]) {
    if (ipLines('link', 'show', link).some((line) => line.includes(link))) ipLines('link', 'delete', link);
  }
  const existing = ipLines('netns', 'list').map((line) => line.split(' ')[0]);
  for (const namespace of namespaces) {
    if (existing.includes(namespace)) ipLines('netns', 'delete', namespace);
  }
}

export async function startNetnsLab(size: number): Promise<NetnsLab> {
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root');
  const suffix = randomBytes(2).toString('hex');
  const subnet = freeSubnet();
  const gateway = `${subnet}.1`;
  const bridge = `ackbr-${suffix}`;
  const hosts: NetnsHost[] = Array.from({ length: size }, (_, offset) => ({
    index: offset + 1,
    namespace: `ackstate-${suffix}-n${offset + 1}`,
    address: `${subnet}.${11 + offset}`,
  }));
  const veth = (host: NetnsHost) => `ackv${suffix}n${host.index}`;
  const namespaces = hosts.map((host) => host.namespace);

  const unregister = onProcessEnd(() => removeSync(namespaces, bridge, hosts.map(veth)));
  let tornDown = false;
  const tearDown = async () => {
    if (tornDown) return;
    tornDown = true;
    unregister();
    killAll(namespaces);
    await waitUntil(() => namespaces.every((namespace) => namespacePids(namespace).length === 0), {
      timeoutMs: 30_000,
      what: 'every process of the lab namespaces to exit',
    }).catch(() => {});
    removeSync(namespaces, bridge, hosts.map(veth));
  };

  const ip = (...args: string[]) => run('ip', args, { timeout: 30_000 });
  const exec = async (host: NetnsHost, command: string, ...args: string[]) =>
    (await run('ip', ['netns', 'exec', host.namespace, command, ...args], { timeout: 30_000 })).stdout;
  const iptables = (host: NetnsHost, ...args: string[]) => exec(host, 'iptables', '-w', ...args);

  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (const host of hosts) {
      await ip('netns', 'add', host.namespace);
      await ip('link', 'add', veth(host), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
      await ip('link', 'set', veth(host), 'master', bridge, 'up');
      await ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
      await ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
      await ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
    }
  } catch (error) {
    await tearDown();
    throw error;
  }
  const inodes = new Set(namespaces.map((namespace) => `net:[${statSync(`/run/netns/${namespace}`).ino}]`));

  return {
    hosts,
    gateway,
    bridge,
    exec,
    async partition(host, others) {
      for (const other of others) {
        for (const [from, to] of [
          [host, other],
          [other, host],
        ] as const) {
          await iptables(from, '-A', 'INPUT', '-s', to.address, '-j', 'DROP');
          await iptables(from, '-A', 'OUTPUT', '-d', to.address, '-j', 'DROP');
        }
      }
    },
    async lossyToServices(host, probability) {
      const random = ['-m', 'statistic', '--mode', 'random', '--probability', String(probability), '-j', 'DROP'];
      await iptables(host, '-A', 'INPUT', '-s', gateway, ...random);
      await iptables(host, '-A', 'OUTPUT', '-d', gateway, ...random);
    },
    async heal() {
      for (const host of hosts) {
        await iptables(host, '-F');
      }
    },
    leftovers() {
      const left: string[] = [];
      const existing = ipLines('netns', 'list').map((line) => line.split(' ')[0]);
      for (const namespace of namespaces) {
        if (existing.includes(namespace)) left.push(`namespace ${namespace}`);
      }
      const links = ipLines('-o', 'link', 'show').join('\n');
      for (const name of [bridge, ...hosts.map(veth)]) {
        if (links.includes(`${name}:`) || links.includes(`${name}@`)) left.push(`link ${name}`);
      }
      for (const pid of processesIn(inodes)) left.push(`process ${pid}`);
      return left;
    },
    tearDown,
  };
}
