/** Medians over rounds, the ratios to the references, the targets of issue 14, and the JSON file. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runProcessesOf, type CpuAccount, type DatabaseAccount } from '../harness/accounting.js';
import type { AmqpCounts } from '../harness/amqp-counter.js';
import type { MachineInfo } from '../harness/machine.js';
import type { RunResult } from '../harness/run.js';
import { median } from '../harness/stats.js';
import { debugLevelMachines } from '../harness/transitions.js';

export interface VariantSummary {
  readonly variant: string;
  readonly rounds: number;
  readonly users: number;
  readonly usersPerSecond: number;
  readonly cpuMsPerUser: number;
  /** The share of it off the main threads (absent in results from before it was measured). */
  readonly helperThreadsCpuShare?: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly peakRssMiB: number;
  /** The worst of the rounds: messages left in the run's queues, unsent outbox rows, users without a card. */
  readonly messagesLeft: number;
  readonly unsentOutboxRows: number;
  readonly usersWithoutCard: number;
  readonly cardsMinusUsers: number;
  readonly commitsPerUser: number;
  /** From the statements pass (a separate run through the counting proxy), when it ran. */
  readonly statementsPerUser: number | null;
  readonly logLinesPerUser: number;
  readonly transitionsPerUser: number;
  readonly generatorCpuMsPerUser: number;
  /** The generator's CPU over the pipeline's. */
  readonly generatorCpuShare: number;
  /** Medians over the rounds of where the machine went, per user (absent in results from before issue 26). */
  readonly cpuAccount?: CpuAccount;
  readonly databaseAccount?: DatabaseAccount;
  /** From the statements pass, when it ran. */
  readonly amqpPerUser?: AmqpCounts | null;
}

/**
 * A variant's figures over a reference's: each the median, over the rounds, of the ratio within one round
 * (the two runs minutes apart), not the ratio of the two medians, so that the host's speed, which drifts by a
 * factor of two from one round to the next here, cancels out of each ratio.
 */
export interface VariantRatios {
  readonly variant: string;
  /** To the batched reference. */
  readonly throughput: number | null;
  readonly cpuPerUser: number | null;
  readonly p50: number | null;
  /** To the unbatched reference. */
  readonly cpuPerUserToUnbatched: number | null;
  /** The CPU-per-user ratios of each round, first round first (absent in results from before rounds were paired). */
  readonly cpuPerUserByRound?: readonly (number | null)[];
  readonly cpuPerUserToUnbatchedByRound?: readonly (number | null)[];
  /** To `ref-limit`, the batched reference tuned for throughput (absent before issue 26). */
  readonly toLimit?: {
    readonly throughput: number | null;
    readonly p50: number | null;
    readonly throughputByRound: readonly (number | null)[];
    /** CPU per user, process by process (see CpuAccount). */
    readonly cpu: Readonly<Record<keyof CpuAccount, number | null>>;
  };
}

/** The limit every variant is measured against since issue 26. */
export const limitReference = 'ref-limit';

export interface Target {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

export interface BenchReport {
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly load: { readonly loadAverageBefore: readonly number[]; readonly loadAverageAfter: readonly number[] };
  readonly options: Record<string, unknown>;
  readonly variants: Record<string, string>;
  readonly method: Record<string, string>;
  readonly medians: VariantSummary[];
  readonly ratios: VariantRatios[];
  readonly halfRate: RunResult[];
  /** Open loop at 50 users/s (absent before issue 26). */
  readonly lowRate?: RunResult[];
  readonly statements: RunResult[];
  readonly targets: Target[];
  readonly runs: RunResult[];
}

const round = (value: number, digits = 2) =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : NaN;

export function summarizeVariant(
  variant: string,
  runs: readonly RunResult[],
  statementsRun: RunResult | undefined,
): VariantSummary {
  const of = (pick: (run: RunResult) => number, digits = 3) => round(median(runs.map(pick)), digits);
  const worst = (pick: (run: RunResult) => number) => Math.max(0, ...runs.map((run) => Math.abs(pick(run))));
  return {
    variant,
    rounds: runs.length,
    users: of((run) => run.users, 0),
    usersPerSecond: of((run) => run.usersPerSecond, 1),
    cpuMsPerUser: of((run) => run.cpuMsPerUser),
    helperThreadsCpuShare: of((run) => run.helperThreadsCpuShare),
    p50Ms: of((run) => run.latencyMs.p50, 1),
    p95Ms: of((run) => run.latencyMs.p95, 1),
    p99Ms: of((run) => run.latencyMs.p99, 1),
    peakRssMiB: of((run) => run.peakRssMiB, 1),
    messagesLeft: worst((run) => run.messagesLeft),
    unsentOutboxRows: worst((run) => run.unsentOutboxRows),
    usersWithoutCard: worst((run) => run.usersWithoutCard),
    cardsMinusUsers: worst((run) => run.cardsMinusUsers),
    commitsPerUser: of((run) => run.commitsPerUser),
    statementsPerUser: statementsRun?.statementsPerUser ?? null,
    logLinesPerUser: of((run) => run.logLinesPerUser),
    transitionsPerUser: of((run) => run.transitionsPerUser),
    generatorCpuMsPerUser: of((run) => run.generator.cpuMsPerUser),
    generatorCpuShare: of((run) => run.generator.cpuSeconds / run.cpuSeconds),
    ...(runs.every((run) => run.account) &&
      runs.length > 0 && {
        cpuAccount: medianRecord(runs.map((run) => run.account!.cpuMsPerUser)),
        databaseAccount: medianRecord(runs.map((run) => run.account!.databasePerUser)),
      }),
    ...(statementsRun && { amqpPerUser: statementsRun.amqpPerUser ?? null }),
  };
}

/** Field by field, the median of records of numbers. */
function medianRecord<T extends object>(records: readonly T[]): T {
  const keys = Object.keys(records[0]!) as (keyof T)[];
  return Object.fromEntries(
    keys.map((key) => [key, round(median(records.map((record) => record[key] as number)), 3)]),
  ) as T;
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? round(a / b, 3) : null;

/** Each variant's runs by round: the n-th run of a variant is its run of round n. */
function byRound(runs: readonly RunResult[], variant: string): RunResult[] {
  return runs.filter((run) => run.variant === variant);
}

/** The ratio of `pick` between the runs of `variant` and of `reference`, round by round. */
function ratiosByRound(
  runs: readonly RunResult[],
  variant: string,
  reference: string,
  pick: (run: RunResult) => number,
): (number | null)[] {
  const references = byRound(runs, reference);
  return byRound(runs, variant).map((run, index) => {
    const against = references[index];
    return against === undefined ? null : ratio(pick(run), pick(against));
  });
}

const medianOf = (ratios: readonly (number | null)[]) => {
  const known = ratios.filter((value): value is number => value !== null);
  return known.length === 0 ? null : round(median(known), 3);
};

/** The median over the rounds of the ratio of `pick` between `variant`'s run and `reference`'s in that round. */
export function pairedRatio(
  runs: readonly RunResult[],
  variant: string,
  reference: string,
  pick: (run: RunResult) => number,
): number | null {
  return medianOf(ratiosByRound(runs, variant, reference, pick));
}

/** Every variant's ratios to the references: medians of the same-round ratios (see `VariantRatios`). */
export function ratiosOf(runs: readonly RunResult[], variants: readonly string[]): VariantRatios[] {
  const cpu = (run: RunResult) => run.cpuMsPerUser;
  const withLimit = runs.some((run) => run.variant === limitReference);
  return variants.map((variant) => {
    const cpuPerUserByRound = ratiosByRound(runs, variant, 'ref-batched', cpu);
    const cpuPerUserToUnbatchedByRound = ratiosByRound(runs, variant, 'ref-unbatched', cpu);
    const throughputByRound = ratiosByRound(runs, variant, limitReference, (run) => run.usersPerSecond);
    const accountRatio = (key: keyof CpuAccount) =>
      pairedRatio(runs, variant, limitReference, (run) =>
        run.account === undefined
          ? NaN
          : key === 'runProcesses'
            ? runProcessesOf(run.account.cpuMsPerUser)
            : run.account.cpuMsPerUser[key],
      );
    const keys: (keyof CpuAccount)[] = [
      'pipeline',
      'postgresBackends',
      'postgresBackground',
      'rabbitmq',
      'generator',
      'harness',
      'runProcesses',
      'wholeMachine',
      'other',
    ];
    return {
      variant,
      throughput: pairedRatio(runs, variant, 'ref-batched', (run) => run.usersPerSecond),
      cpuPerUser: medianOf(cpuPerUserByRound),
      p50: pairedRatio(runs, variant, 'ref-batched', (run) => run.latencyMs.p50),
      cpuPerUserToUnbatched: medianOf(cpuPerUserToUnbatchedByRound),
      cpuPerUserByRound,
      cpuPerUserToUnbatchedByRound,
      ...(withLimit && {
        toLimit: {
          throughput: medianOf(throughputByRound),
          p50: pairedRatio(runs, variant, limitReference, (run) => run.latencyMs.p50),
          throughputByRound,
          cpu: Object.fromEntries(keys.map((key) => [key, accountRatio(key)])) as Record<
            keyof CpuAccount,
            number | null
          >,
        },
      }),
    };
  });
}

function check(target: string, value: number | null | undefined, met: (value: number) => boolean, unit = ''): Target {
  return value === null || value === undefined || !Number.isFinite(value)
    ? { target, measured: 'not measured', met: null }
    : { target, measured: `${value}${unit}`, met: met(value) };
}

/** Every ackstate run: did its log hold every transition its metrics counted (machines logged at info)? */
function transitionsTarget(runs: readonly RunResult[]): Target {
  const target = 'every transition logged at the default level (log lines vs the metrics, ackstate runs)';
  const checked = runs.filter((run) => run.transitionCheck !== undefined);
  if (checked.length === 0) return { target, measured: 'not measured', met: null };
  let logged = 0;
  let metered = 0;
  let missing = 0;
  for (const run of checked) {
    const { transitionCheck } = run;
    for (const [key, count] of Object.entries(transitionCheck!.metered)) {
      if (debugLevelMachines.includes(key.split(':')[0]!)) continue;
      metered += count;
      logged += Math.min(count, transitionCheck!.logged[key] ?? 0);
    }
    missing += Object.values(transitionCheck!.missing).reduce((sum, count) => sum + count, 0);
  }
  return {
    target,
    measured: `${logged} of the ${metered} states left that the metrics counted have their log line (${checked.length} runs); ${missing} missing`,
    met: missing === 0 && metered > 0,
  };
}

export function targetsOf(
  medians: readonly VariantSummary[],
  ratios: readonly VariantRatios[],
  halfRate: readonly RunResult[],
  runs: readonly RunResult[],
  lowRate: readonly RunResult[] = [],
): Target[] {
  const ratioOf = (variant: string) => ratios.find((each) => each.variant === variant);
  const ackstateHalf = halfRate.find((run) => run.variant === 'ackstate');
  const all = [...runs, ...halfRate, ...lowRate];
  const leftOver = all.reduce(
    (sum, run) => sum + run.messagesLeft + run.unsentOutboxRows + run.usersWithoutCard + Math.abs(run.cardsMinusUsers),
    0,
  );
  const low = (variant: string) => lowRate.find((run) => run.variant === variant)?.latencyMs.p50;
  const lowAckstate = low('ackstate');
  const lowLimit = low(limitReference);
  const best = ratioOf('ackstate-best')?.toLimit;
  return [
    check('defaults: throughput ≥ 0.8 × ref-limit', ratioOf('ackstate')?.toLimit?.throughput, (v) => v >= 0.8, '×'),
    check('best settings (ackstate-best): throughput ≥ 0.9 × ref-limit', best?.throughput, (v) => v >= 0.9, '×'),
    check('best settings: whole-machine CPU per user ≤ 1.2 × ref-limit', best?.cpu.wholeMachine, (v) => v <= 1.2, '×'),
    check(
      "best settings: the run's processes' CPU per user ≤ 1.2 × ref-limit (the whole machine less other work on it)",
      best?.cpu.runProcesses,
      (v) => v <= 1.2,
      '×',
    ),
    check("best settings: the pipeline's CPU per user ≤ 1.3 × ref-limit", best?.cpu.pipeline, (v) => v <= 1.3, '×'),
    check(
      'MAX_BATCH=1: CPU per user ≤ 1.5 × ref-unbatched',
      ratioOf('ackstate-batch1')?.cpuPerUserToUnbatched,
      (value) => value <= 1.5,
      '×',
    ),
    check(
      "open loop at 50 users/s: defaults' p50 ≤ 1.2 × ref-limit's",
      lowAckstate !== undefined && lowLimit !== undefined && lowLimit > 0
        ? Math.round((lowAckstate / lowLimit) * 1000) / 1000
        : null,
      (value) => value <= 1.2,
      '×',
    ),
    check(
      `open loop at half of ${halfRate.some((run) => run.variant === limitReference) ? "ref-limit's" : "ackstate's"} peak: defaults' p99 < 100 ms`,
      ackstateHalf?.latencyMs.p99,
      (value) => value < 100,
      ' ms',
    ),
    transitionsTarget(all),
    check(
      'every run: each user one card, nothing left in queues or outboxes',
      medians.length > 0 ? leftOver : null,
      (value) => value === 0,
      ' left over',
    ),
  ];
}

export async function writeReport(file: string, report: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  await writeFile(temporary, `${JSON.stringify(report, null, 2)}\n`);
  await rename(temporary, file);
}
