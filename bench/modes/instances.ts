/**
 * `--instances 1,2,4`: ackstate (defaults) with that many `user` and that many `card` processes competing
 * for the same queues and databases, the load spread over the user processes' HTTP ports (one wrk each).
 * On this 2-core machine more processes cannot run faster: the table shows what competing consumers and
 * extra processes cost, not a speed-up.
 */
import path from 'node:path';
import os from 'node:os';
import type { MachineInfo } from '../harness/machine.js';
import type { BenchOptions } from './options.js';
import { repoRoot } from '../harness/paths.js';
import type { BuiltScripts } from '../harness/reference-build.js';
import { summarizeVariant, writeReport, type VariantSummary } from '../report/report.js';
import { measureRun, type RunResult } from '../harness/run.js';
import { variants } from './variants.js';

export interface InstancesReport {
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly load: { readonly loadAverageBefore: readonly number[]; readonly loadAverageAfter: readonly number[] };
  readonly options: Record<string, unknown>;
  readonly note: string;
  readonly medians: (VariantSummary & { readonly instances: number })[];
  readonly runs: RunResult[];
}

export async function runInstances(context: {
  options: BenchOptions;
  scripts: BuiltScripts;
  machine: MachineInfo;
  command: string;
  outFile: string;
  progress: (run: RunResult, round: string) => void;
  measure: (label: string, run: () => Promise<RunResult>) => Promise<RunResult>;
}): Promise<void> {
  const { options, scripts } = context;
  const counts = options.instances ?? [1];
  const loadAverageBefore = os.loadavg().map((value) => Math.round(value * 100) / 100);
  const runs: RunResult[] = [];
  console.log(
    `bench --instances: ackstate at ${counts.join(', ')} instances of each service, ${options.rounds} rounds`,
  );
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const instances of counts) {
      const run = await context.measure(`${instances} instances, round ${round}`, () =>
        measureRun({
          variant: variants.ackstate,
          scripts,
          users: options.users,
          warmup: options.warmup,
          instances,
          load: { kind: 'closed', connections: options.connections },
          pollMs: options.pollMs,
          keepLogs: options.keepLogs,
        }),
      );
      runs.push(run);
      context.progress(run, `round ${round}, ${instances} × 2 processes`);
    }
  }
  const report: InstancesReport = {
    date: new Date().toISOString(),
    command: context.command,
    machine: context.machine,
    load: { loadAverageBefore, loadAverageAfter: os.loadavg().map((value) => Math.round(value * 100) / 100) },
    options: { ...options },
    note: `${context.machine.cpus} CPUs: more instances than cores cannot be faster; the figures show the overhead of competing consumers and of more processes, not a speed-up`,
    medians: counts.map((instances) => ({
      instances,
      ...summarizeVariant(
        `ackstate × ${instances}`,
        runs.filter((run) => run.instances === instances),
        undefined,
      ),
    })),
    runs,
  };
  await writeReport(context.outFile, report);
  const { renderInstances } = await import('../report/mode-tables.js');
  console.log(`\n${renderInstances(report)}\n\nbench: wrote ${path.relative(repoRoot, context.outFile)}`);
}
