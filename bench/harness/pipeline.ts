/**
 * The processes of one variant's run: started (the first of each service alone, so that it creates and
 * migrates its database before the others join), sampled, checked and stopped together.
 */
import type { BenchEnvironment } from './environment.js';
import { cpuSeconds, mainThreadCpuSeconds, memory, sampleRss } from './process-stats.js';
import type { BuiltScripts } from './reference-build.js';
import { startProcess, type LogSummary, type ServiceProcess } from './service-process.js';
import { compareTransitions, countMeteredTransitions, scrapeMetrics, type TransitionCheck } from './transitions.js';
import type { Variant } from '../modes/variants.js';

export interface Pipeline {
  readonly processes: readonly ServiceProcess[];
  /** The URLs serving POST /users. */
  readonly userUrls: readonly string[];
  cpuSeconds(): number;
  /** The processes' main threads only (the rest is their helper threads': see process-stats.ts). */
  mainThreadCpuSeconds(): number;
  startRssSampling(): { stop(): number };
  /** Peak resident set (VmHWM) summed over the processes. */
  peakRssMiB(): number;
  /** ackstate only: its logs' transitions against its metrics' (read before stopping). */
  checkTransitions(logs: readonly LogSummary[], metrics: readonly string[]): TransitionCheck | undefined;
  scrapeAll(): Promise<string[]>;
  stop(graceMs?: number): Promise<(number | string)[]>;
  logs(keep: boolean): Promise<LogSummary[]>;
}

export async function startPipeline(
  variant: Variant,
  scripts: BuiltScripts,
  environment: BenchEnvironment,
  instances: number,
  extraEnv: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<Pipeline> {
  const specs = variant.processes(scripts, environment, instances);
  const processes: ServiceProcess[] = [];
  const start = async (spec: (typeof specs)[number]) => {
    const started = await startProcess({
      label: spec.label,
      script: spec.script,
      args: spec.args,
      nodeArgs,
      env: { ...spec.env, ...extraEnv },
    });
    processes.push(started);
    return started;
  };
  try {
    const firsts = instances === 1 ? specs : specs.slice(0, 2);
    await Promise.all((await Promise.all(firsts.map(start))).map((started) => started.waitForReady()));
    const rest = await Promise.all(specs.slice(firsts.length).map(start));
    await Promise.all(rest.map((started) => started.waitForReady()));
  } catch (error) {
    await Promise.all(processes.map((started) => started.stop(5_000)));
    await Promise.all(processes.map((started) => started.logSummary(false)));
    throw error;
  }
  const ordered = specs.map((spec) => processes.find((started) => started.label === spec.label)!);
  return {
    processes: ordered,
    userUrls: ordered.filter((_, index) => specs[index]!.servesUsers).map((started) => started.url),
    cpuSeconds: () => ordered.reduce((sum, started) => sum + cpuSeconds(started.pid), 0),
    mainThreadCpuSeconds: () => ordered.reduce((sum, started) => sum + mainThreadCpuSeconds(started.pid), 0),
    startRssSampling() {
      const samplers = ordered.map((started) => sampleRss(started.pid));
      return { stop: () => samplers.reduce((sum, sampler) => sum + sampler.stop(), 0) };
    },
    peakRssMiB: () => ordered.reduce((sum, started) => sum + memory(started.pid).peakRssMiB, 0),
    async scrapeAll() {
      if (!variant.ackstate) return [];
      return Promise.all(ordered.map((started) => scrapeMetrics(started.url).catch(() => '')));
    },
    checkTransitions(logs, metrics) {
      if (!variant.ackstate) return undefined;
      const sum = (counts: readonly Record<string, number>[]) => {
        const total: Record<string, number> = {};
        for (const each of counts)
          for (const [machine, n] of Object.entries(each)) total[machine] = (total[machine] ?? 0) + n;
        return total;
      };
      return compareTransitions(
        sum(logs.map((log) => log.transitionsByMachine)),
        sum(metrics.map(countMeteredTransitions)),
      );
    },
    stop: (graceMs = 30_000) => Promise.all(ordered.map((started) => started.stop(graceMs))),
    logs: (keep) => Promise.all(ordered.map((started) => started.logSummary(keep))),
  };
}
