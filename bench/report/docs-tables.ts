/**
 * The tables of docs/benchmarks.md, rendered from the results JSON only (no clock, no machine), so that
 * test/bench-docs.test.ts can check that the docs show exactly what the committed JSON says.
 */
import type { AllocationsReport } from '../modes/allocations.js';
import type { InstancesReport } from '../modes/instances.js';
import type { ProfileReport } from '../modes/profile.js';
import { runProcessesOf, type CpuAccount } from '../harness/accounting.js';
import { limitReference, pairedRatio, type BenchReport, type VariantRatios, type VariantSummary } from './report.js';
import type { RunResult } from '../harness/run.js';
import type { SoakReport } from '../modes/soak.js';
import type { SweepReport } from '../modes/sweep.js';
import { describeSettings } from '../modes/variants.js';

export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const cell = (value: string | number | null) =>
    value === null || (typeof value === 'number' && !Number.isFinite(value)) ? '–' : String(value);
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** Which command made a results file, when, and at which commit. */
function producedBy(report: {
  readonly command: string;
  readonly date: string;
  readonly machine: { readonly commit: string | undefined };
}): string {
  const commit = report.machine.commit ?? '?';
  return `Produced by \`${report.command}\` on ${report.date.slice(0, 16).replace('T', ' ')} UTC, commit \`${commit}\``;
}

const times = (value: number | null) => (value === null ? null : `${value}×`);

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

export function renderInstances(report: InstancesReport): string {
  const { machine } = report;
  return [
    producedBy(report) +
      `${machine.uncommittedChanges ? ' (with uncommitted changes)' : ''}; load average before ${report.load.loadAverageBefore[0] ?? '?'}. ${report.note}.`,
    '',
    markdownTable(
      [
        'instances of each service',
        'users/s',
        'CPU ms / user',
        'p50 ms',
        'p99 ms',
        'peak RSS MiB (sum)',
        'left in queues',
      ],
      report.medians.map((summary) => [
        summary.instances,
        summary.usersPerSecond,
        summary.cpuMsPerUser,
        summary.p50Ms,
        summary.p99Ms,
        summary.peakRssMiB,
        summary.messagesLeft,
      ]),
    ),
  ].join('\n');
}

export function renderSoak(report: SoakReport): string {
  const rss = report.rssMiB;
  const rssChange = rss.first && rss.last ? Math.round((rss.last / rss.first - 1) * 1000) / 10 : null;
  // Two consumers (two inbox rows per user) and two outbox rows per user; what the windows hold, +20%.
  const windowRows = (windowMs: number) =>
    Math.round(2 * report.rate * ((windowMs + Number(report.retention.RETENTION_INTERVAL_MS)) / 1000) * 1.2);
  const inboxBound = windowRows(Number(report.retention.DEDUPLICATION_WINDOW_MS));
  const outboxBound = windowRows(Number(report.retention.SENT_OUTBOX_GRACE_MS));
  return [
    `${producedBy(report)}: ${report.users} users at ${report.rate} users/s, retention on.`,
    '',
    markdownTable(
      ['segment', 'users', 'users/s', 'p50 ms', 'p99 ms'],
      report.segments.map((each) => [each.name, each.users, each.usersPerSecond, each.p50Ms, each.p99Ms]),
    ),
    '',
    markdownTable(
      ['soak target (issue 14)', 'measured', 'met'],
      [
        [
          'throughput of the last segment within 10% of the first',
          `${report.throughputChange}%`,
          Math.abs(report.throughputChange) <= 10 ? 'yes' : 'no',
        ],
        [
          'RSS flat within 10% (first to last sample after the first segment)',
          `${rss.first} → ${rss.last} MiB (${rssChange}%; ${rss.min}–${rss.max})`,
          rssChange !== null && Math.abs(rssChange) <= 10 ? 'yes' : 'no',
        ],
        [
          `inbox rows ≤ ${inboxBound} (the dedup window's)`,
          `${report.inboxRowsMax} at most`,
          report.inboxRowsMax <= inboxBound ? 'yes' : 'no',
        ],
        [
          `outbox rows ≤ ${outboxBound} (the sent grace's)`,
          `${report.outboxRowsMax} at most`,
          report.outboxRowsMax <= outboxBound ? 'yes' : 'no',
        ],
        ['messages left in queues', report.messagesLeft, report.messagesLeft === 0 ? 'yes' : 'no'],
      ],
    ),
  ].join('\n');
}

/** The profiled variants side by side: µs of busy time per user in each layer, and the total. */
export function renderProfile(report: ProfileReport): string {
  const { machine } = report;
  const names = Object.keys(report.results);
  const layers = [...new Set(names.flatMap((name) => report.results[name]!.byLayer.map((entry) => entry.layer)))];
  const usOf = (name: string, layer: string) =>
    report.results[name]!.byLayer.find((entry) => entry.layer === layer)?.usPerUser ?? 0;
  const totalOf = (name: string) => report.results[name]!.byLayer.reduce((sum, entry) => sum + entry.usPerUser, 0);
  const byTotal = (a: string, b: string) =>
    names.reduce((sum, name) => sum + usOf(name, b), 0) - names.reduce((sum, name) => sum + usOf(name, a), 0);
  return [
    producedBy(report) +
      `${machine.uncommittedChanges ? ' (with uncommitted changes)' : ''}: the main thread's busy time under V8's CPU ` +
      `profiler (sampling every 250 µs over the measured users only, started after the warm-up) in µs per user, by layer.`,
    '',
    markdownTable(
      ['layer', ...names],
      [
        ...[...layers].sort(byTotal).map((layer) => [layer, ...names.map((name) => usOf(name, layer))]),
        ['**busy in all**', ...names.map((name) => `**${totalOf(name)}**`)],
        [
          'CPU ms / user of the measured users (from /proc, under the profiler)',
          ...names.map((name) => report.results[name]!.run.cpuMsPerUser),
        ],
      ],
    ),
  ].join('\n');
}

/** The sampled variants side by side: KiB allocated per measured user, by the package whose code allocated. */
export function renderAllocations(report: AllocationsReport): string {
  const { machine } = report;
  const names = Object.keys(report.results);
  const kibOf = (name: string, where: string) =>
    report.results[name]!.byPackage.find((entry) => entry.name === where)?.kibPerUser ?? 0;
  // The packages that allocate at least 2 KiB per user in some variant, largest first; the rest in one row.
  const largest = (where: string) => Math.max(...names.map((name) => kibOf(name, where)));
  const shown = [...new Set(names.flatMap((name) => report.results[name]!.byPackage.map((entry) => entry.name)))]
    .filter((where) => largest(where) >= 2)
    .sort((a, b) => largest(b) - largest(a));
  const rest = (name: string) =>
    Math.round((report.results[name]!.kibPerUser - shown.reduce((sum, where) => sum + kibOf(name, where), 0)) * 10) /
    10;
  return [
    producedBy(report) +
      `${machine.uncommittedChanges ? ' (with uncommitted changes)' : ''}: KiB allocated per measured user (every ` +
      `allocation sampled, also what was collected since), by the package whose code allocated (Node's own code and ` +
      `the engine's builtins charged to the package that called them).`,
    '',
    markdownTable(
      ['allocated by', ...names],
      [
        ...shown.map((where) => [where, ...names.map((name) => kibOf(name, where))]),
        ['everything else', ...names.map(rest)],
        ['**allocated in all**', ...names.map((name) => `**${report.results[name]!.kibPerUser}**`)],
        ['CPU ms / user (while sampling)', ...names.map((name) => report.results[name]!.run.cpuMsPerUser)],
        [
          'of it off the main thread',
          ...names.map((name) => `${Math.round(report.results[name]!.run.helperThreadsCpuShare * 100)}%`),
        ],
      ],
    ),
  ].join('\n');
}

/** A sweep's points: medians and the ratios paired by round to the sweep's reference. */
export function renderSweep(report: SweepReport): string {
  const { machine } = report;
  const [one] = report.load.loadAverageBefore;
  const ref = report.reference;
  return [
    producedBy(report) +
      `${machine.uncommittedChanges ? ' (with uncommitted changes)' : ''}; load average before ${one ?? '?'}, after ${report.load.loadAverageAfter[0] ?? '?'}. ` +
      `Medians of ${String(report.options.rounds)} alternating rounds of ${String(report.options.users)} users; ratios paired by round with \`${ref}\` ` +
      `(${report.referenceMedians.usersPerSecond} users/s, p50 ${report.referenceMedians.p50Ms} ms). Best: \`${report.best}\`.`,
    '',
    markdownTable(
      [
        'settings',
        'users/s',
        `/ ${ref}`,
        'p50 ms',
        `p50 / ${ref}`,
        'pipeline CPU ms / user',
        `/ ${ref}`,
        "the run's processes' CPU ms / user",
        `/ ${ref}`,
        'commits / user',
      ],
      report.points.map((point) => [
        point.name === report.best ? `**${describeSettings(point.settings)}**` : describeSettings(point.settings),
        point.medians.usersPerSecond,
        times(point.toReference.throughput),
        point.medians.p50Ms,
        times(point.toReference.p50),
        point.medians.cpuMsPerUser,
        times(point.toReference.pipelineCpu),
        point.medians.cpuAccount ? runProcessesOf(point.medians.cpuAccount) : null,
        times(
          pairedRatio(report.runs, point.name, ref, (run) =>
            run.account ? runProcessesOf(run.account.cpuMsPerUser) : NaN,
          ),
        ),
        point.medians.commitsPerUser,
      ]),
    ),
  ].join('\n');
}
