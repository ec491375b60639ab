/** What the figures were measured on: the machine, the versions, the commit. */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresServer } from './environment.js';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

async function tryRun(command: string, args: string[]): Promise<string | undefined> {
  try {
    return (await run(command, args, { cwd: repoRoot, timeout: 30_000 })).stdout.trim();
  } catch {
    return undefined;
  }
}

async function postgresVersion(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: `${postgresServer}/postgres` });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly rabbitmq: string | undefined;
  readonly postgresql: string | undefined;
  readonly commit: string | undefined;
  readonly uncommittedChanges: boolean;
}

export async function describeMachine(): Promise<MachineInfo> {
  const [rabbitmq, postgresql, commit, status] = await Promise.all([
    tryRun('rabbitmqctl', ['version']),
    postgresVersion(),
    tryRun('git', ['rev-parse', '--short', 'HEAD']),
    // The bench's own results do not count as changes to what is measured.
    tryRun('git', ['status', '--porcelain', '--', 'src', 'bench', ':!bench/results']),
  ]);
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    rabbitmq,
    postgresql,
    commit,
    uncommittedChanges: Boolean(status),
  };
}
