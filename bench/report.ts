/** Medians over rounds, the ratios and targets of issue 4, the printed table and the JSON file. */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MachineInfo } from './machine.js';
import type { RunResult } from './run.js';
import { median } from './stats.js';

export interface VariantSummary {
  readonly variant: string;
  readonly rounds: number;
  readonly users: number;
  readonly usersPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly storedP99Ms: number;
  readonly cpuSecondsPer1kUsers: number;
  readonly peakRssMiB: number;
  readonly messagesLeft: number;
  readonly unsentOutboxRows: number;
  readonly transitionsPerUser: number;
  /** Every log line (transitions, the human-readable lines, the rest) per user. */
  readonly logLinesPerUser: number;
  readonly commitsPerUser: number;
}

export interface Target {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

export interface BenchReport {
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly options: Record<string, unknown>;
  readonly method: Record<string, string>;
  readonly medians: VariantSummary[];
  readonly ratios: Record<string, number | null>;
  readonly halfRate: RunResult[];
  readonly targets: Target[];
  readonly runs: RunResult[];
}

const round = (value: number, digits = 2) =>
  Number.isFinite(value) ? Math.round(value * 10 ** digits) / 10 ** digits : NaN;

export function summarizeVariant(variant: string, runs: readonly RunResult[]): VariantSummary {
  const of = (pick: (run: RunResult) => number) => round(median(runs.map(pick)), 3);
  return {
    variant,
    rounds: runs.length,
    users: runs[0]?.users ?? 0,
    usersPerSecond: round(median(runs.map((run) => run.usersPerSecond)), 1),
    p50Ms: of((run) => run.latencyMs.p50),
    p95Ms: of((run) => run.latencyMs.p95),
    p99Ms: of((run) => run.latencyMs.p99),
    storedP99Ms: of((run) => run.storedLatencyMs.p99),
    cpuSecondsPer1kUsers: of((run) => run.cpuSecondsPer1kUsers),
    peakRssMiB: of((run) => run.peakRssMiB),
    messagesLeft: Math.max(0, ...runs.map((run) => run.messagesLeft)),
    unsentOutboxRows: Math.max(0, ...runs.map((run) => run.unsentOutboxRows)),
    transitionsPerUser: of((run) => run.transitionsPerUser),
    logLinesPerUser: of((run) => run.logLinesPerUser),
    commitsPerUser: of((run) => run.commitsPerUser),
  };
}

export function ratiosOf(medians: readonly VariantSummary[]) {
  const find = (name: string) => medians.find((summary) => summary.variant === name);
  const ackstate = find('ackstate');
  const reference = find('reference');
  const seed = find('seed');
  const unbatched = find('unbatched');
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? round(a / b, 3) : null;
  return {
    throughputAckstateOverReference: ratio(ackstate?.usersPerSecond, reference?.usersPerSecond),
    cpuPerUserAckstateOverReference: ratio(ackstate?.cpuSecondsPer1kUsers, reference?.cpuSecondsPer1kUsers),
    throughputAckstateOverSeed: ratio(ackstate?.usersPerSecond, seed?.usersPerSecond),
    // Not a target: what the runtime costs when it batches nothing, as the reference does not.
    throughputUnbatchedOverReference: ratio(unbatched?.usersPerSecond, reference?.usersPerSecond),
    cpuPerUserUnbatchedOverReference: ratio(unbatched?.cpuSecondsPer1kUsers, reference?.cpuSecondsPer1kUsers),
  };
}

export function targetsOf(
  medians: readonly VariantSummary[],
  ratios: ReturnType<typeof ratiosOf>,
  halfRate: readonly RunResult[],
  runs: readonly RunResult[],
): Target[] {
  const check = (
    target: string,
    value: number | null | undefined,
    met: (value: number) => boolean,
    unit = '',
  ): Target =>
    value === null || value === undefined || !Number.isFinite(value)
      ? { target, measured: 'not measured', met: null }
      : { target, measured: `${value}${unit}`, met: met(value) };
  const ackstateHalf = halfRate.find((run) => run.variant === 'ackstate');
  const ackstate = medians.find((summary) => summary.variant === 'ackstate');
  const left = [...runs, ...halfRate].reduce((sum, run) => sum + run.messagesLeft, 0);
  return [
    check('throughput ≥ 0.9 × reference', ratios.throughputAckstateOverReference, (value) => value >= 0.9, '×'),
    check('CPU per user ≤ 1.25 × reference', ratios.cpuPerUserAckstateOverReference, (value) => value <= 1.25, '×'),
    check(
      'throughput ≥ 10 × seed setting (PREFETCH=1)',
      ratios.throughputAckstateOverSeed,
      (value) => value >= 10,
      '×',
    ),
    check('p99 < 250 ms at half of peak throughput', ackstateHalf?.latencyMs.p99, (value) => value < 250, ' ms'),
    check('messages left in queues = 0 (every run)', runs.length > 0 ? left : null, (value) => value === 0),
    check('logging on: transition lines per user > 0', ackstate?.transitionsPerUser, (value) => value > 0),
    {
      target: 'RSS after 50,000 users within 10% of after 5,000',
      measured: 'run npm run bench -- --memory',
      met: null,
    },
  ];
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [
    headers,
    ...rows.map((row) => row.map((cell) => (typeof cell === 'number' && !Number.isFinite(cell) ? '–' : String(cell)))),
  ];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [
    line(cells[0]!),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

export function formatReport(report: BenchReport): string {
  const { machine } = report;
  const out: string[] = [];
  out.push(
    `Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}, ` +
      `RabbitMQ ${machine.rabbitmq ?? '?'}, PostgreSQL ${machine.postgresql ?? '?'}; commit ${machine.commit ?? '?'}${machine.uncommittedChanges ? ' + uncommitted changes' : ''}`,
  );
  out.push(
    `Medians of ${report.options.rounds} rounds (closed loop, ${report.options.concurrency} clients). Latency: POST to card stored, seen by a ${report.options.pollMs} ms poll.`,
  );
  out.push('');
  out.push(
    table(
      [
        'variant',
        'users',
        'users/s',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'CPU s / 1k users',
        'peak RSS MiB',
        'left in queues',
        'commits / user',
        'transitions / user',
        'log lines / user',
      ],
      report.medians.map((summary) => [
        summary.variant,
        summary.users,
        summary.usersPerSecond,
        summary.p50Ms,
        summary.p95Ms,
        summary.p99Ms,
        summary.cpuSecondsPer1kUsers,
        summary.peakRssMiB,
        summary.messagesLeft,
        summary.commitsPerUser,
        summary.transitionsPerUser,
        summary.logLinesPerUser,
      ]),
    ),
  );
  if (report.halfRate.length > 0) {
    out.push('');
    out.push("Open loop at half of ackstate's peak throughput:");
    out.push(
      table(
        ['variant', 'load', 'users', 'p50 ms', 'p95 ms', 'p99 ms', 'CPU s / 1k users', 'left in queues'],
        report.halfRate.map((run) => [
          run.variant,
          run.load,
          run.users,
          run.latencyMs.p50,
          run.latencyMs.p95,
          run.latencyMs.p99,
          run.cpuSecondsPer1kUsers,
          run.messagesLeft,
        ]),
      ),
    );
  }
  out.push('');
  out.push(
    `Ratios: throughput ackstate/reference ${report.ratios.throughputAckstateOverReference ?? '–'}×, ` +
      `CPU per user ackstate/reference ${report.ratios.cpuPerUserAckstateOverReference ?? '–'}×, ` +
      `throughput ackstate/seed ${report.ratios.throughputAckstateOverSeed ?? '–'}×`,
  );
  if (report.ratios.cpuPerUserUnbatchedOverReference !== null) {
    out.push(
      `Without batching (MAX_BATCH=1, not a target): throughput unbatched/reference ${report.ratios.throughputUnbatchedOverReference ?? '–'}×, ` +
        `CPU per user unbatched/reference ${report.ratios.cpuPerUserUnbatchedOverReference}×`,
    );
  }
  out.push('');
  out.push(
    table(
      ['target (issue 4)', 'measured', 'met'],
      report.targets.map((target) => [
        target.target,
        target.measured,
        target.met === null ? '–' : target.met ? 'yes' : 'NO',
      ]),
    ),
  );
  return out.join('\n');
}

export async function writeReport(file: string, report: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  await writeFile(temporary, `${JSON.stringify(report, null, 2)}\n`);
  await rename(temporary, file);
}
