/**
 * The processes of a throwaway PostgreSQL server: PostgreSQL's programs run as the postgres user, and
 * whether a server (its postmaster, by its pid file) or anything started under a folder still runs.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { systemUserIds } from './system-processes.js';

const run = promisify(execFile);
const bin = '/usr/lib/postgresql/15/bin';

export const postgresIds = () => systemUserIds('postgres');

/** Runs one of PostgreSQL's programs as the postgres user, from the pair's folder. */
export async function asPostgres(root: string, program: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('runuser', ['-u', 'postgres', '--', path.join(bin, program), ...args], {
      cwd: root,
      timeout: 120_000,
    });
    return stdout;
  } catch (error) {
    const output = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${program} ${args.join(' ')} failed: ${String(error)} ${output}`);
  }
}

/** The postmaster's pid, from its pid file while it runs; remembered, since a stop deletes the file. */
const knownPids = new Map<string, number>();
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) knownPids.set(dataDir, pid);
  } catch {
    // not running, or its folder removed
  }
  return knownPids.get(dataDir);
}

/** Any process whose command line names the folder: a postmaster started with `-D <folder>/…`. */
export function processesUnder(root: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSafe('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(root)) found.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
