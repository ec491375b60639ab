/**
 * The default mode: the variants in alternating rounds (each round in the reverse order of the one before),
 * the statements pass through the counting proxies, the open-loop runs at half of the limit's peak and at
 * 50 users/s; the tables printed and bench/results/latest.json written.
 */
import os from 'node:os';
import path from 'node:path';
import type { MachineInfo } from '../harness/machine.js';
import { repoRoot } from '../harness/paths.js';
import type { BuiltScripts } from '../harness/reference-build.js';
import { measureRun, type RunResult } from '../harness/run.js';
import { renderLatest } from '../report/docs-tables.js';
import { ratiosOf, summarizeVariant, targetsOf, writeReport, type BenchReport } from '../report/report.js';
import type { BenchOptions } from './options.js';
import { variants, type VariantName } from './variants.js';

export interface LatestContext {
  readonly options: BenchOptions;
  readonly scripts: BuiltScripts;
  readonly machine: MachineInfo;
  readonly command: string;
  readonly outFile: string;
  readonly loadAverageBefore: readonly number[];
  readonly elapsed: () => string;
  progress(run: RunResult, round: string): void;
  measure(label: string, run: () => Promise<RunResult>): Promise<RunResult>;
}

function usersOf(name: VariantName, bench: BenchOptions) {
  return name === 'seed' ? { users: bench.seedUsers, warmup: Math.min(bench.warmup, 50) } : bench;
}

async function rounds(
  bench: BenchOptions,
  built: BuiltScripts,
  { progress, measure }: LatestContext,
): Promise<RunResult[]> {
  console.log(
    `bench: ${bench.rounds} rounds of ${bench.only.join(' / ')} (every other round reversed); ${bench.users} users, wrk ${bench.connections} connections, ${bench.warmup} warm-up users per run`,
  );
  const runs: RunResult[] = [];
  for (let round = 1; round <= bench.rounds; round += 1) {
    // Each round in the reverse order of the one before (A B, B A, A B …): a variant that always ran after
    // another would meet what that one left the database and the broker doing (checkpoints, vacuum).
    const order = round % 2 === 1 ? bench.only : [...bench.only].reverse();
    for (const name of order) {
      const { users, warmup } = usersOf(name, bench);
      const run = await measure(`${name} round ${round}`, () =>
        measureRun({
          variant: variants[name],
          scripts: built,
          users,
          warmup,
          load: { kind: 'closed', connections: bench.connections },
          pollMs: bench.pollMs,
          keepLogs: bench.keepLogs,
          nodeArgs: bench.nodeFlags,
          extraEnv: name.startsWith('baseline') ? bench.baselineEnv : undefined,
        }),
      );
      runs.push(run);
      progress(run, `round ${round}`);
    }
  }
  return runs;
}

/** Open-loop runs of ackstate (defaults) and the limit (ref-batched without ref-limit) at `perSecond`. */
async function openLoopRuns(
  bench: BenchOptions,
  built: BuiltScripts,
  perSecond: number | undefined,
  seconds: number,
  label: string,
  { progress, measure }: LatestContext,
): Promise<RunResult[]> {
  if (seconds === 0 || perSecond === undefined || !Number.isFinite(perSecond)) return [];
  const users = Math.max(100, Math.round(perSecond * seconds));
  const runs: RunResult[] = [];
  const reference = bench.only.includes('ref-limit') ? 'ref-limit' : 'ref-batched';
  for (const name of bench.only.filter((variant) => variant === 'ackstate' || variant === reference)) {
    const run = await measure(`${name} ${label}`, () =>
      measureRun({
        variant: variants[name],
        scripts: built,
        users,
        warmup: bench.warmup,
        load: { kind: 'open', perSecond },
        pollMs: bench.pollMs,
        keepLogs: bench.keepLogs,
        nodeArgs: bench.nodeFlags,
      }),
    );
    runs.push(run);
    progress(run, label);
  }
  return runs;
}

async function statementRuns(
  bench: BenchOptions,
  built: BuiltScripts,
  { progress, measure }: LatestContext,
): Promise<RunResult[]> {
  if (bench.statementsUsers === 0) return [];
  const runs: RunResult[] = [];
  for (const name of bench.only) {
    const run = await measure(`${name} statements`, () =>
      measureRun({
        variant: variants[name],
        scripts: built,
        users: name === 'seed' ? Math.min(bench.statementsUsers, bench.seedUsers) : bench.statementsUsers,
        warmup: 50,
        load: { kind: 'closed', connections: bench.connections },
        countStatements: true,
        pollMs: bench.pollMs,
      }),
    );
    runs.push(run);
    progress(run, 'statements');
  }
  return runs;
}

export async function runLatest(context: LatestContext): Promise<void> {
  const { options, scripts, machine, command, outFile, loadAverageBefore, elapsed } = context;
  const runs = await rounds(options, scripts, context);
  const statements = await statementRuns(options, scripts, context);
  const medians = options.only.map((name) =>
    summarizeVariant(
      name,
      runs.filter((run) => run.variant === name),
      statements.find((run) => run.variant === name),
    ),
  );
  const ratios = ratiosOf(runs, options.only);
  const peakOf = options.only.includes('ref-limit') ? 'ref-limit' : 'ackstate';
  const halfRate = await openLoopRuns(
    options,
    scripts,
    (medians.find((summary) => summary.variant === peakOf)?.usersPerSecond ?? NaN) / 2,
    options.halfRateSeconds,
    'half rate',
    context,
  );
  const lowRate = await openLoopRuns(options, scripts, 50, options.lowRateSeconds, 'at 50/s', context);

  const report: BenchReport = {
    date: new Date().toISOString(),
    command,
    machine,
    load: { loadAverageBefore, loadAverageAfter: os.loadavg().map((value) => Math.round(value * 100) / 100) },
    options: { ...options },
    variants: Object.fromEntries(options.only.map((name) => [name, variants[name].description])),
    method: {
      processes:
        'each pipeline runs as one process holding both services: `node dist/main.js both` for ackstate, the compiled bench/reference/{batched,unbatched}/main.ts for the references',
      isolation:
        'every run has its own queue names and databases, deleted afterwards; the variants alternate within each round, every other round in reverse order',
      accounting:
        "CPU per measured user by process (bench/harness/accounting.ts): the pipeline's processes; PostgreSQL's backends serving the run's two databases (found in pg_stat_activity over one persistent session before the phase, the bench's poll session excluded) and its background processes (postmaster, WAL writer, checkpointer, background writer, autovacuum; shared with other users of the server); RabbitMQ's beam.smp (pid from rabbitmqctl eval, shared); wrk; the bench process and its poll session's backend; the whole machine's busy jiffies from /proc/stat; 'other' is the whole machine less all these. Counters: pg_stat_database of the run's databases (commits less the bench's queries, rows), WAL bytes from pg_current_wal_insert_lsn() and records and syncs from pg_stat_wal (cluster-wide). AMQP methods per user from a counting TCP proxy in the statements pass, never in the timed runs",
      load: 'closed loop: wrk (Debian package) with bench/load/create-users.lua, 2 threads; open loop: wrk with bench/load/paced-users.lua, 64 connections, each waiting in delay() for the next slot of a fixed schedule (the email carries the time of the slot). wrk runs in a process of its own; its CPU is the cutime + cstime of the shell that waited for it (clock ticks of 10 ms)',
      throughput:
        'measured users / (first request sent to last card stored), both times from the database (see latency)',
      latency:
        "each request's email carries its send time (the open loop: its scheduled time), in microseconds of the wall clock; end to end = the card row's stored_at in the user database (the storing transaction's start, PostgreSQL's clock on this same machine) minus that time. Resolution 1 µs; an under-estimate by the storing transaction's own duration. Done-ness is a poll of the row counts every pollMs",
      cpu: "utime + stime of the pipeline's processes from /proc/<pid>/stat over the measured phase (warm-up excluded), per user; the share off the main thread is the processes' CPU less their main threads' (/proc/<pid>/task/<pid>/stat): V8's garbage collection and compiler threads, libuv's pool",
      rss: "VmHWM (peak resident set) of the pipeline's processes at the end of the run, summed",
      messagesLeft:
        "ready + unacked messages in the run's four queues after the run (rabbitmqctl list_queues), waited for up to 15 s; also unsent outbox rows, users without a card and cards issued less users",
      statements:
        'a separate run per variant (statementsUsers users) with its database connections through a proxy counting simple queries and extended-protocol executions (BEGIN and COMMIT included), per measured user',
      commitsPerUser:
        "xact_commit of both databases (pg_stat_database) over the measured phase, less the bench's own queries, per user (approximate: PostgreSQL flushes these statistics about once a second, and the relays' sweeps count too)",
      logging:
        "LOG_LEVEL=info, stdout to a file; log lines per user over every user of the run (warm-up included); the transition check compares each ackstate process's `transition` lines by machine with its /metrics ackstate_state_duration_seconds_count, read just before it stops",
    },
    medians,
    ratios,
    halfRate,
    lowRate,
    statements,
    targets: targetsOf(medians, ratios, halfRate, runs, lowRate),
    runs,
  };
  console.log(`\n${renderLatest(report)}\n`);
  await writeReport(outFile, report);
  console.log(
    `bench: wrote ${path.relative(repoRoot, outFile)} (${elapsed()}); npm run bench:docs renders bench/results/*.json into docs/benchmarks.md`,
  );
}
