/**
 * The tables of docs/benchmarks.md for the default run and `--baseline`, rendered from the results JSON
 * only (no clock, no machine), so that test/bench-docs.test.ts can check that the docs show exactly what the
 * committed JSON says. The other modes' tables are in `mode-tables.ts`.
 */
import { runProcessesOf, type CpuAccount } from '../harness/accounting.js';
import { limitReference, pairedRatio, type BenchReport, type VariantRatios, type VariantSummary } from './report.js';
import type { RunResult } from '../harness/run.js';
import { markdownTable, producedBy, times } from './markdown.js';

function provenance(report: BenchReport): string {
  const { machine } = report;
  const [one, five] = report.load.loadAverageBefore;
  return (
    producedBy(report) +
    `${machine.uncommittedChanges ? ' (with uncommitted changes)' : ''}; ${machine.cpus} CPUs (${machine.cpuModel}), ` +
    `${machine.memoryGiB} GiB, Node ${machine.node}, RabbitMQ ${machine.rabbitmq ?? '?'}, PostgreSQL ${machine.postgresql ?? '?'}; ` +
    `load average before the run ${one ?? '?'} (1 min) / ${five ?? '?'} (5 min), after ${report.load.loadAverageAfter[0] ?? '?'}. ` +
    `Medians of ${String(report.options.rounds)} alternating rounds of ${String(report.options.users)} users.`
  );
}

function variantsTable(medians: readonly VariantSummary[]): string {
  return markdownTable(
    [
      'variant',
      'users/s',
      'CPU ms / user',
      'of it off the main thread',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'peak RSS MiB',
      'left in queues',
      'statements / user',
      'commits / user',
      'log lines / user',
      'generator CPU ms / user',
    ],
    medians.map((summary) => [
      summary.variant,
      summary.usersPerSecond,
      summary.cpuMsPerUser,
      summary.helperThreadsCpuShare === undefined ? null : `${Math.round(summary.helperThreadsCpuShare * 100)}%`,
      summary.p50Ms,
      summary.p95Ms,
      summary.p99Ms,
      summary.peakRssMiB,
      summary.messagesLeft,
      summary.statementsPerUser,
      summary.commitsPerUser,
      summary.logLinesPerUser,
      `${summary.generatorCpuMsPerUser} (${Math.round(summary.generatorCpuShare * 100)}% of the pipeline's)`,
    ]),
  );
}

function ratiosTable(ratios: readonly VariantRatios[]): string {
  if (ratios.some((each) => each.toLimit))
    return markdownTable(
      [
        'variant',
        'throughput / ref-limit',
        'p50 / ref-limit',
        'pipeline CPU per user / ref-limit',
        "the run's processes' CPU per user / ref-limit",
        'whole machine per user / ref-limit',
        'throughput / ref-batched',
        'CPU per user / ref-batched',
        'CPU per user / ref-unbatched',
      ],
      ratios.map((each) => [
        each.variant,
        times(each.toLimit?.throughput ?? null),
        times(each.toLimit?.p50 ?? null),
        times(each.toLimit?.cpu.pipeline ?? null),
        times(each.toLimit?.cpu.runProcesses ?? null),
        times(each.toLimit?.cpu.wholeMachine ?? null),
        times(each.throughput),
        times(each.cpuPerUser),
        times(each.cpuPerUserToUnbatched),
      ]),
    );
  return markdownTable(
    [
      'variant',
      'throughput / ref-batched',
      'CPU per user / ref-batched',
      'p50 / ref-batched',
      'CPU per user / ref-unbatched',
    ],
    ratios.map((each) => [
      each.variant,
      times(each.throughput),
      times(each.cpuPerUser),
      times(each.p50),
      times(each.cpuPerUserToUnbatched),
    ]),
  );
}

/** The CPU ratios of the targets, round by round: how far one round's figure is from the median. */
function roundByRound(ratios: readonly VariantRatios[]): string | undefined {
  const of = (variant: string) => ratios.find((each) => each.variant === variant);
  const rows = of(limitReference)?.toLimit
    ? ([
        ['throughput ackstate / ref-limit', of('ackstate')?.toLimit?.throughputByRound],
        ['throughput ackstate-best / ref-limit', of('ackstate-best')?.toLimit?.throughputByRound],
        ['CPU per user ackstate-batch1 / ref-unbatched', of('ackstate-batch1')?.cpuPerUserToUnbatchedByRound],
      ] as const)
    : ([
        ['ackstate / ref-batched', of('ackstate')?.cpuPerUserByRound],
        ['ackstate-batch1 / ref-unbatched', of('ackstate-batch1')?.cpuPerUserToUnbatchedByRound],
      ] as const);
  const lines = rows.flatMap(([pair, values]) =>
    values === undefined || values.length === 0
      ? []
      : [`${pair} ${values.map((value) => times(value) ?? '–').join(', ')}`],
  );
  const what = of(limitReference)?.toLimit ? 'Round by round' : 'CPU per user, round by round';
  return lines.length === 0 ? undefined : `${what}: ${lines.join('; ')}.`;
}

function halfRateTable(runs: readonly RunResult[]): string {
  return markdownTable(
    [
      'variant',
      'load',
      'users',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'CPU ms / user',
      'left in queues',
      'generator CPU ms / user',
    ],
    runs.map((run) => [
      run.variant,
      run.load,
      run.users,
      run.latencyMs.p50,
      run.latencyMs.p95,
      run.latencyMs.p99,
      run.cpuMsPerUser,
      run.messagesLeft,
      run.generator.cpuMsPerUser,
    ]),
  );
}

const accountRows: [keyof CpuAccount, string][] = [
  ['pipeline', "the pipeline's process (node)"],
  ['postgresBackends', "PostgreSQL: the backends of the run's databases"],
  ['postgresBackground', 'PostgreSQL: postmaster, WAL writer, checkpointer, background writer, autovacuum (shared)'],
  ['rabbitmq', 'RabbitMQ (beam.smp, shared)'],
  ['generator', 'load generator (wrk)'],
  ['harness', 'the bench and its poll session'],
  ['runProcesses', "**all of the run's processes (the sum of the above)**"],
  ['other', 'everything else on the machine (other work on this shared host, kernel threads)'],
  ['wholeMachine', '**whole machine (/proc/stat)**'],
];

/** Where the machine went, process by process: CPU ms per user, each with its paired ratio to ref-limit. */
function accountTable(report: BenchReport): string | undefined {
  const shown = report.medians.filter((summary) => summary.cpuAccount);
  if (shown.length === 0) return undefined;
  const ratioOf = (variant: string, key: keyof CpuAccount) =>
    report.ratios.find((each) => each.variant === variant)?.toLimit?.cpu[key] ?? null;
  const withLimit = shown.some((summary) => summary.variant === limitReference);
  return markdownTable(
    ['CPU ms per user', ...shown.map((summary) => summary.variant)],
    accountRows.map(([key, label]) => [
      label,
      ...shown.map((summary) => {
        const value = key === 'runProcesses' ? runProcessesOf(summary.cpuAccount!) : summary.cpuAccount![key];
        const ratio = withLimit && summary.variant !== limitReference ? ratioOf(summary.variant, key) : null;
        return ratio === null ? value : `${value} (${ratio}×)`;
      }),
    ]),
  );
}

/** What each variant asked of PostgreSQL and RabbitMQ, per user. */
function countersTable(report: BenchReport): string | undefined {
  const shown = report.medians.filter((summary) => summary.databaseAccount);
  if (shown.length === 0) return undefined;
  const rows: [string, (summary: VariantSummary) => number | null | undefined][] = [
    ['statements (statements pass)', (summary) => summary.statementsPerUser],
    ['commits', (summary) => summary.databaseAccount?.commits],
    ['rows inserted', (summary) => summary.databaseAccount?.rowsInserted],
    ['rows updated', (summary) => summary.databaseAccount?.rowsUpdated],
    ['rows deleted', (summary) => summary.databaseAccount?.rowsDeleted],
    ['WAL bytes (cluster-wide)', (summary) => summary.databaseAccount?.walBytes],
    ['WAL records (cluster-wide)', (summary) => summary.databaseAccount?.walRecords],
    ['WAL syncs (cluster-wide)', (summary) => summary.databaseAccount?.walSyncs],
    ['AMQP publishes', (summary) => summary.amqpPerUser?.publishes],
    ['AMQP confirms (broker acks)', (summary) => summary.amqpPerUser?.confirms],
    ['AMQP deliveries', (summary) => summary.amqpPerUser?.deliveries],
    ['AMQP acks (client acks, nacks)', (summary) => summary.amqpPerUser?.acks],
    ['AMQP methods, both ways (channel operations included)', (summary) => summary.amqpPerUser?.methods],
    ['AMQP frames, both ways', (summary) => summary.amqpPerUser?.frames],
    ['AMQP bytes, both ways', (summary) => summary.amqpPerUser?.bytes],
  ];
  return markdownTable(
    ['per user', ...shown.map((summary) => summary.variant)],
    rows.map(([label, pick]) => [label, ...shown.map((summary) => pick(summary) ?? null)]),
  );
}

function targetsTable(report: BenchReport): string {
  const issue = report.medians.some((summary) => summary.variant === limitReference) ? 26 : 14;
  return markdownTable(
    [`target (issue ${issue})`, 'measured', 'met'],
    report.targets.map((target) => [
      target.target,
      target.measured,
      target.met === null ? '–' : target.met ? 'yes' : 'no',
    ]),
  );
}

export function renderLatest(report: BenchReport): string {
  const parts = [
    provenance(report),
    '',
    variantsTable(report.medians),
    '',
    'Ratios (each the median over the rounds of the ratio within a round):',
    '',
    ratiosTable(report.ratios),
  ];
  const spread = roundByRound(report.ratios);
  if (spread !== undefined) parts.push('', spread);
  const account = accountTable(report);
  if (account !== undefined)
    parts.push(
      '',
      "Where the machine went, CPU ms per measured user (medians over the rounds; in brackets the median of the same-round ratios to ref-limit's):",
      '',
      account,
    );
  const counters = countersTable(report);
  if (counters !== undefined)
    parts.push(
      '',
      'What each asked of PostgreSQL and RabbitMQ per user (medians over the rounds; the statements and AMQP figures from the separate pass through the counting proxies):',
      '',
      counters,
    );
  if (report.halfRate.length > 0) {
    const peakOf = report.halfRate.some((run) => run.variant === limitReference) ? "ref-limit's" : "ackstate's";
    parts.push('', `Open loop at half of ${peakOf} closed-loop peak:`, '', halfRateTable(report.halfRate));
  }
  if (report.lowRate && report.lowRate.length > 0)
    parts.push('', 'Open loop at 50 users/s:', '', halfRateTable(report.lowRate));
  parts.push('', targetsTable(report));
  return parts.join('\n');
}

/** `--baseline`: each of this checkout's variants against the baseline's of the same settings, paired by round. */
function baselineRatiosTable(runs: readonly RunResult[]): string {
  const pairs: [string, string][] = [
    ['ackstate', 'baseline'],
    ['ackstate-batch1', 'baseline-batch1'],
  ];
  const rows = pairs.flatMap(([name, baselineName]) => {
    const ratio = (pick: (run: RunResult) => number) => times(pairedRatio(runs, name, baselineName, pick));
    const cpu = ratio((run) => run.cpuMsPerUser);
    return cpu === null
      ? []
      : [[`${name} / ${baselineName}`, ratio((run) => run.usersPerSecond), cpu, ratio((run) => run.latencyMs.p50)]];
  });
  return markdownTable(['variants', 'throughput', 'CPU per user', 'closed-loop p50'], rows);
}

export function renderBaseline(report: BenchReport): string {
  const baseline = report.options.baseline as { readonly commit?: string } | undefined;
  return [
    `${provenance(report)} Baseline: commit \`${baseline?.commit ?? '?'}\`.`,
    '',
    variantsTable(report.medians),
    '',
    'This commit against the baseline (each the median over the rounds of the ratio within a round):',
    '',
    baselineRatiosTable(report.runs),
  ].join('\n');
}
