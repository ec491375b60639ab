/**
 * One throwaway RabbitMQ node's files and process, for the test clusters (rabbitmq-cluster.ts on loopback,
 * rabbitmq-netns-cluster.ts in network namespaces): its own config, data and log directories, owned by the
 * rabbitmq user (which runs it, with that user's Erlang cookie), so that nothing of /etc/rabbitmq applies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const rabbitmqServer = '/usr/lib/rabbitmq/bin/rabbitmq-server';
/** Where the rabbitmq user's HOME and Erlang cookie are; rabbitmq-server runs from there. */
const rabbitmqHome = '/var/lib/rabbitmq';

export interface SystemIds {
  readonly uid: number;
  readonly gid: number;
}

/** The node's folder: data and log directories, and `rabbitmq.conf` with `conf`, no env file, no plugins. */
export function writeNodeFiles(dir: string, conf: readonly string[], ids: SystemIds): void {
  for (const sub of ['', 'mnesia', 'log']) {
    mkdirSync(path.join(dir, sub), { recursive: true });
    chownSync(path.join(dir, sub), ids.uid, ids.gid);
  }
  const files: Record<string, string> = {
    'rabbitmq.conf': `${conf.join('\n')}\n`,
    'rabbitmq-env.conf': '',
    enabled_plugins: '[].\n',
  };
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, file), content);
    chownSync(path.join(dir, file), ids.uid, ids.gid);
  }
}

/**
 * Starts rabbitmq-server as the rabbitmq user on the node's folder, detached, its output in `server.out`.
 * `wrap` runs it inside another command (`ip netns exec <ns>`); `env` names the node, its ports and epmd.
 */
export function spawnNode(dir: string, env: Record<string, string>, wrap: readonly string[] = []): ChildProcess {
  const output = openSync(path.join(dir, 'server.out'), 'a');
  const [command = 'runuser', ...args] = [...wrap, 'runuser', '-u', 'rabbitmq', '--', rabbitmqServer];
  const child = spawn(command, args, {
    cwd: rabbitmqHome,
    detached: true,
    stdio: ['ignore', output, output],
    env: {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(dir, 'log'),
      RABBITMQ_PID_FILE: path.join(dir, 'pid'),
      ...env,
    },
  });
  closeSync(output);
  child.unref();
  return child;
}

/** The end of the node's output, for a failure message. */
export function serverOutput(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'server.out'), 'utf8').slice(-2_000);
  } catch {
    return '(no output)';
  }
}
