/**
 * The load of one run, spread over the processes that serve POST /users: closed loop, wrk with
 * `connections` in all; open loop, the Node generator at `perSecond` in all. Each generator's CPU is
 * measured in its own process and summed.
 */
import { spawn } from 'node:child_process';
import { startWrk } from './wrk.js';

export type Load =
  { readonly kind: 'closed'; readonly connections: number } | { readonly kind: 'open'; readonly perSecond: number };

export interface GeneratorResult {
  readonly tool: string;
  readonly cpuSeconds: number;
  readonly statuses: Record<string, number>;
  readonly errors: number;
  /** Open loop: the latest a request left after its scheduled time. */
  readonly latestSendLateMs?: number;
}

export interface RunningLoad {
  /** Stops what is still sending and resolves with what the generators measured. */
  finish(): Promise<GeneratorResult>;
}

function sumResults(tool: string, results: readonly GeneratorResult[]): GeneratorResult {
  const statuses: Record<string, number> = {};
  for (const result of results)
    for (const [status, count] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  const late = results.map((result) => result.latestSendLateMs ?? 0);
  return {
    tool,
    cpuSeconds: results.reduce((sum, result) => sum + result.cpuSeconds, 0),
    statuses,
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    ...(results.some((result) => result.latestSendLateMs !== undefined) ? { latestSendLateMs: Math.max(...late) } : {}),
  };
}

function startOpenLoop(script: string, url: string, perSecond: number, users: number, label: string) {
  const child = spawn(process.execPath, [script, url, String(perSecond), String(users), label], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise<GeneratorResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`open-loop generator exited with ${code}: ${stderr.slice(-500)}`));
      const parsed = JSON.parse(stdout.trim().split('\n').at(-1)!) as Omit<GeneratorResult, 'tool'>;
      resolve({ tool: 'node open-loop generator', ...parsed });
    });
  });
}

export function startLoad(options: {
  load: Load;
  urls: readonly string[];
  label: string;
  users: number;
  openLoopScript: string;
}): RunningLoad {
  const { load, urls, label } = options;
  const share = (total: number, index: number) =>
    Math.floor(total / urls.length) + (index < total % urls.length ? 1 : 0);
  if (load.kind === 'closed') {
    const runs = urls.map((url, index) =>
      startWrk({
        url,
        label: `${label}${urls.length > 1 ? `i${index}` : ''}`,
        users: share(options.users, index),
        connections: Math.max(1, share(load.connections, index)),
      }),
    );
    return {
      async finish() {
        for (const run of runs) run.interrupt();
        const results = await Promise.all(runs.map((run) => run.exited));
        return sumResults(
          'wrk',
          results.map((result) => ({
            tool: 'wrk',
            cpuSeconds: result.cpuSeconds,
            statuses: result.statuses,
            errors: result.socketErrors,
          })),
        );
      },
    };
  }
  const runs = urls.map((url, index) =>
    startOpenLoop(
      options.openLoopScript,
      url,
      load.perSecond / urls.length,
      share(options.users, index),
      `${label}${urls.length > 1 ? `i${index}` : ''}`,
    ),
  );
  return { finish: async () => sumResults('node open-loop generator', await Promise.all(runs)) };
}
