/**
 * The load of one run, spread over the processes that serve POST /users (one wrk each): closed loop with
 * `connections` in all; open loop at `perSecond` in all, over 64 connections (enough that a slot rarely
 * waits for a free one; when it does, its latency still counts from the slot). The CPU of each wrk is
 * measured and summed.
 */
import { startWrk } from './wrk.js';

const openLoopConnections = 64;

export type Load =
  { readonly kind: 'closed'; readonly connections: number } | { readonly kind: 'open'; readonly perSecond: number };

export interface GeneratorResult {
  readonly tool: string;
  readonly cpuSeconds: number;
  readonly statuses: Record<string, number>;
  readonly errors: number;
}

export interface RunningLoad {
  /** Stops what is still sending and resolves with what the generators measured. */
  finish(): Promise<GeneratorResult>;
}

function sumResults(results: readonly GeneratorResult[]): GeneratorResult {
  const statuses: Record<string, number> = {};
  for (const result of results)
    for (const [status, count] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  return {
    tool: results[0]?.tool ?? 'wrk',
    cpuSeconds: results.reduce((sum, result) => sum + result.cpuSeconds, 0),
    statuses,
    errors: results.reduce((sum, result) => sum + result.errors, 0),
  };
}

export function startLoad(options: { load: Load; urls: readonly string[]; label: string; users: number }): RunningLoad {
  const { load, urls, label } = options;
  const share = (total: number, index: number) =>
    Math.floor(total / urls.length) + (index < total % urls.length ? 1 : 0);
  const runs = urls.map((url, index) =>
    startWrk({
      url,
      label: `${label}${urls.length > 1 ? `i${index}` : ''}`,
      users: share(options.users, index),
      connections: Math.max(1, share(load.kind === 'closed' ? load.connections : openLoopConnections, index)),
      ...(load.kind === 'open' ? { perSecond: load.perSecond / urls.length } : {}),
    }),
  );
  return {
    async finish() {
      for (const run of runs) run.interrupt();
      const results = await Promise.all(runs.map((run) => run.exited));
      return sumResults(
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
