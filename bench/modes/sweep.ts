/**
 * `--sweep ackstate|ref`: a grid of batch settings (prefetch × batch size × batches at once, and the
 * reference's linger), every point a variant of its own, in alternating rounds with the sweep's reference,
 * which pairs each point's ratios by round: ackstate's sweep against `ref-limit`, the reference's own sweep
 * (which chooses `ref-limit`) against `ref-batched`, the reference at ackstate's defaults. Writes
 * bench/results/sweep-ackstate.json or sweep-ref.json; `npm run bench:docs` renders the tables and, for
 * ackstate's, the chart (docs/benchmarks-sweep.svg).
 */
import os from 'node:os';
import type { MachineInfo } from '../harness/machine.js';
import type { BenchOptions } from './options.js';
import type { BuiltScripts } from '../harness/reference-build.js';
import { pairedRatio, summarizeVariant, writeReport, type VariantSummary } from '../report/report.js';
import { measureRun, type RunResult } from '../harness/run.js';
import {
  ackstateVariant,
  describeSettings,
  referenceVariant,
  settingsEnv,
  variants,
  type BatchSettings,
  type Variant,
} from './variants.js';

export interface SweepPoint {
  readonly name: string;
  readonly settings: BatchSettings;
  readonly medians: VariantSummary;
  /** Paired by round with the sweep's reference: medians of the same-round ratios. */
  readonly toReference: {
    readonly throughput: number | null;
    readonly p50: number | null;
    readonly pipelineCpu: number | null;
    readonly wholeMachineCpu: number | null;
    /** The run's processes' CPU (pipeline, PostgreSQL, RabbitMQ, wrk, bench) per user. */
    readonly runProcessesCpu?: number | null;
  };
}

export interface SweepReport {
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly load: { readonly loadAverageBefore: readonly number[]; readonly loadAverageAfter: readonly number[] };
  readonly options: Record<string, unknown>;
  readonly subject: 'ackstate' | 'ref';
  readonly reference: string;
  readonly referenceMedians: VariantSummary;
  readonly points: SweepPoint[];
  /** The point of the highest paired throughput ratio. */
  readonly best: string;
  readonly runs: RunResult[];
}

export function pointsOf(subject: 'ackstate' | 'ref', grid: BenchOptions['sweepGrid']): Variant[] {
  const points: Variant[] = [];
  for (const prefetch of grid.prefetch)
    for (const maxBatch of grid.maxBatch)
      for (const concurrency of grid.concurrency) {
        const base = { PREFETCH: prefetch, MAX_BATCH: maxBatch, BATCH_CONCURRENCY: concurrency };
        if (subject === 'ackstate') {
          points.push(
            ackstateVariant(
              `ackstate p${prefetch} b${maxBatch} c${concurrency}`,
              `ackstate at ${describeSettings(base)}`,
              settingsEnv(base),
              undefined,
              base,
            ),
          );
          continue;
        }
        for (const linger of grid.linger) {
          const settings = { ...base, LINGER_MS: linger };
          points.push(
            referenceVariant(
              `ref p${prefetch} b${maxBatch} c${concurrency} l${linger}`,
              `bench/reference/batched at ${describeSettings(settings)}`,
              (scripts) => scripts.batchedReference,
              settings,
            ),
          );
        }
      }
  return points;
}

export async function runSweep(context: {
  options: BenchOptions;
  scripts: BuiltScripts;
  machine: MachineInfo;
  command: string;
  outFile: string;
  progress: (run: RunResult, round: string) => void;
  measure: (label: string, run: () => Promise<RunResult>) => Promise<RunResult>;
}): Promise<void> {
  const { options, scripts } = context;
  const subject = options.sweep!;
  const reference = variants[subject === 'ackstate' ? 'ref-limit' : 'ref-batched'];
  const points = pointsOf(subject, options.sweepGrid);
  const all = [reference, ...points];
  const loadAverageBefore = os.loadavg().map((value) => Math.round(value * 100) / 100);
  console.log(
    `bench: sweep of ${subject}, ${points.length} points and ${reference.name}, ${options.rounds} rounds of ${options.users} users (every other round reversed)`,
  );
  const runs: RunResult[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    const order = round % 2 === 1 ? all : [...all].reverse();
    for (const variant of order) {
      const run = await context.measure(`${variant.name} round ${round}`, () =>
        measureRun({
          variant,
          scripts,
          users: options.users,
          warmup: options.warmup,
          load: { kind: 'closed', connections: options.connections },
          pollMs: options.pollMs,
          nodeArgs: options.nodeFlags,
        }),
      );
      runs.push(run);
      context.progress(run, `round ${round}`);
    }
  }
  const summaries: SweepPoint[] = points.map((point) => {
    const ratio = (pick: (run: RunResult) => number) => pairedRatio(runs, point.name, reference.name, pick);
    return {
      name: point.name,
      settings: point.settings!,
      medians: summarizeVariant(
        point.name,
        runs.filter((run) => run.variant === point.name),
        undefined,
      ),
      toReference: {
        throughput: ratio((run) => run.usersPerSecond),
        p50: ratio((run) => run.latencyMs.p50),
        pipelineCpu: ratio((run) => run.cpuMsPerUser),
        wholeMachineCpu: ratio((run) => run.account?.cpuMsPerUser.wholeMachine ?? NaN),
        runProcessesCpu: ratio((run) => run.account?.cpuMsPerUser.runProcesses ?? NaN),
      },
    };
  });
  const best = [...summaries].sort(
    (a, b) => (b.toReference.throughput ?? -Infinity) - (a.toReference.throughput ?? -Infinity),
  )[0]!;
  const report: SweepReport = {
    date: new Date().toISOString(),
    command: context.command,
    machine: context.machine,
    load: { loadAverageBefore, loadAverageAfter: os.loadavg().map((value) => Math.round(value * 100) / 100) },
    options: { ...options },
    subject,
    reference: reference.name,
    referenceMedians: summarizeVariant(
      reference.name,
      runs.filter((run) => run.variant === reference.name),
      undefined,
    ),
    points: summaries,
    best: best.name,
    runs,
  };
  const { renderSweep } = await import('../report/mode-tables.js');
  console.log(`\n${renderSweep(report)}\n`);
  await writeReport(context.outFile, report);
  console.log(`bench: wrote ${context.outFile}; best: ${best.name} (${describeSettings(best.settings)})`);
}
