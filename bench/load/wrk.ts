/**
 * The load: wrk (Debian's package) with `connections` keep-alive connections over two threads; closed
 * loop with create-users.lua, open loop (`perSecond`) with paced-users.lua. wrk runs for a duration, so
 * its threads idle after their share of requests and the bench interrupts wrk (SIGINT) once the users
 * are in the database. wrk runs under a
 * `sh` that reads its own /proc/<pid>/stat after waiting for wrk: the children's CPU (cutime + cstime)
 * is wrk's, to the clock tick.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../harness/paths.js';
import { onInterrupt } from '../harness/interrupts.js';
import { ticksPerSecond } from '../harness/process-stats.js';

export interface WrkRun {
  /** Resolves when wrk has exited. */
  readonly exited: Promise<WrkResult>;
  /** Ends the run (SIGINT: wrk prints its summary and exits). */
  interrupt(): void;
}

export interface WrkResult {
  readonly cpuSeconds: number;
  readonly statuses: Record<string, number>;
  readonly socketErrors: number;
}

// USR1 to the shell interrupts wrk. The shell's stat, read after the wait, holds wrk's CPU as its children's.
const waitForWrk = `trap 'kill -INT $pid' USR1
wrk "$@" & pid=$!
code=0
while kill -0 $pid 2>/dev/null; do wait $pid; code=$?; done
cat /proc/$$/stat > "$STAT_FILE"
exit $code`;

const closedLoopScript = path.join(repoRoot, 'bench/load/create-users.lua');
const openLoopScript = path.join(repoRoot, 'bench/load/paced-users.lua');

function parseSummary(stdout: string): { statuses: Record<string, number>; socketErrors: number } {
  const line = stdout.split('\n').find((each) => each.startsWith('BENCH-WRK '));
  if (!line) return { statuses: {}, socketErrors: 0 };
  const parsed = JSON.parse(line.slice('BENCH-WRK '.length)) as {
    statuses: Record<string, number>[];
    errors: number;
  };
  const statuses: Record<string, number> = {};
  for (const counts of parsed.statuses)
    for (const [status, count] of Object.entries(counts)) statuses[status] = (statuses[status] ?? 0) + count;
  return { statuses, socketErrors: parsed.errors };
}

async function childCpuSeconds(statFile: string): Promise<number> {
  const stat = await readFile(statFile, 'utf8').catch(() => '');
  await rm(statFile, { force: true });
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond; // fields 16 and 17: cutime, cstime
}

export function startWrk(options: {
  url: string;
  label: string;
  users: number;
  connections: number;
  perSecond?: number;
}): WrkRun {
  const threads = Math.max(1, Math.min(2, options.connections));
  // +1: wrk calls the first thread's request() once to check the script, and that request is never sent.
  const perThread = Math.ceil(options.users / threads) + 1;
  const statFile = path.join(os.tmpdir(), `ackstate-bench-wrk-${process.pid}-${options.label}.stat`);
  const child = spawn(
    'sh',
    ['-c', waitForWrk, 'sh'].concat([
      `-t${threads}`,
      `-c${Math.max(threads, options.connections)}`,
      // wrk needs a duration: one long enough for the slowest pipeline; the bench interrupts it when done.
      `-d${600 + Math.ceil((options.users / (options.perSecond ?? 50)) * 2)}s`,
      '--timeout',
      '30s',
      '-s',
      options.perSecond === undefined ? closedLoopScript : openLoopScript,
      `${options.url}/users`,
      '--',
      options.label,
      String(perThread),
      ...(options.perSecond === undefined ? [] : [String(options.perSecond / threads), String(threads)]),
    ]),
    { env: { PATH: process.env.PATH ?? '', STAT_FILE: statFile }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const forget = onInterrupt(() => {
    child.kill('SIGUSR1');
  });
  const exited = new Promise<WrkResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      forget();
      void childCpuSeconds(statFile).then((cpuSeconds) => {
        if (code !== 0 && !stdout.includes('BENCH-WRK'))
          return reject(new Error(`wrk exited with ${code}: ${stderr.slice(-500)} ${stdout.slice(-500)}`));
        resolve({ cpuSeconds, ...parseSummary(stdout) });
      });
    });
  });
  // A wrk that fails at once (not installed, say) is reported to whoever awaits it, not as an unhandled rejection
  // that would end the bench before its clean-up.
  exited.catch(() => {});
  return {
    exited,
    interrupt: () => {
      child.kill('SIGUSR1');
    },
  };
}
