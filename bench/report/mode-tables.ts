/**
 * The tables of docs/benchmarks.md for the modes besides the default run (`--instances`, `--soak`,
 * `--profile`, `--allocations`, `--sweep`), rendered from their results JSON only, like `docs-tables.ts`.
 */
import type { AllocationsReport } from '../modes/allocations.js';
import type { InstancesReport } from '../modes/instances.js';
import type { ProfileReport } from '../modes/profile.js';
import type { SoakReport } from '../modes/soak.js';
import type { SweepReport } from '../modes/sweep.js';
import { describeSettings } from '../modes/variants.js';
import { runProcessesOf } from '../harness/accounting.js';
import { markdownTable, producedBy, times } from './markdown.js';
import { pairedRatio } from './report.js';

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
