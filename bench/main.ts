/**
 * `npm run bench [-- options]` (see modes/options.ts): ackstate (defaults and MAX_BATCH=1) against a batched
 * and an unbatched hand-written reference, in alternating rounds on the local broker and database; then
 * the latency at half of ackstate's peak (open loop) and the statements pass. Prints the tables and writes
 * bench/results/latest.json; `npm run bench:docs` renders them into docs/benchmarks.md.
 * `--instances` and `--soak` are the scale modes, `--profile` a CPU profile, `--allocations` the bytes
 * allocated per user by package, `--per-delivery` the CPU
 * of one delivery in the runtime's own layers.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withRetries } from './harness/attempts.js';
import { renderLatest } from './report/docs-tables.js';
import { cleanUpOnSignals } from './harness/interrupts.js';
import { describeMachine } from './harness/machine.js';
import { parseOptions, type BenchOptions } from './modes/options.js';
import { ackstateMain, repoRoot } from './harness/paths.js';
import { buildScripts, type BuiltScripts } from './harness/reference-build.js';
import { ratiosOf, summarizeVariant, targetsOf, writeReport, type BenchReport } from './report/report.js';
import { measureRun, type RunResult } from './harness/run.js';
import { variants, type VariantName } from './modes/variants.js';

const options = parseOptions(process.argv.slice(2));
if (options.perDelivery) {
  const { formatPerDelivery, measurePerDelivery } = await import('./modes/per-delivery.js');
  console.log(formatPerDelivery(await measurePerDelivery()));
  process.exit(0);
}
if (!existsSync(ackstateMain)) {
  console.error('bench: dist/main.js is missing; run `npm run build` first (npm run bench does)');
  process.exit(2);
}
cleanUpOnSignals();
const outFile = path.resolve(repoRoot, options.out);
const scripts = {
  ...(await buildScripts()),
  ...(options.baseline && { baselineMain: path.join(options.baseline.dir, 'dist/main.js') }),
};
const machine = await describeMachine();
const loadAverageBefore = os.loadavg().map((value) => Math.round(value * 100) / 100);
const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

export function progress(run: RunResult, round: string): void {
  console.log(
    `[${elapsed()}] ${round} ${run.variant.padEnd(15)} ${String(run.users).padStart(5)} users ${String(run.usersPerSecond).padStart(7)} users/s  ` +
      `CPU ${run.cpuMsPerUser} ms/user (${Math.round(run.helperThreadsCpuShare * 100)}% off the main thread)  p50 ${run.latencyMs.p50} p99 ${run.latencyMs.p99} ms  RSS ${run.peakRssMiB} MiB  ` +
      `left ${run.messagesLeft}/${run.unsentOutboxRows}/${run.usersWithoutCard}  commits/user ${run.commitsPerUser}` +
      `${run.statementsPerUser === undefined ? '' : `  statements/user ${run.statementsPerUser}`}  ` +
      `${run.generator.tool} ${run.generator.cpuMsPerUser} ms/user  (${run.load})` +
      (run.account
        ? `\n    machine ms/user: whole ${run.account.cpuMsPerUser.wholeMachine} = pipeline ${run.account.cpuMsPerUser.pipeline} + pg ${run.account.cpuMsPerUser.postgresBackends} + pg bg ${run.account.cpuMsPerUser.postgresBackground} + rabbitmq ${run.account.cpuMsPerUser.rabbitmq} + wrk ${run.account.cpuMsPerUser.generator} + bench ${run.account.cpuMsPerUser.harness} + other ${run.account.cpuMsPerUser.other}; WAL ${run.account.databasePerUser.walBytes} B/user` +
          (run.amqpPerUser
            ? `; AMQP/user publishes ${run.amqpPerUser.publishes} confirms ${run.amqpPerUser.confirms} deliveries ${run.amqpPerUser.deliveries} acks ${run.amqpPerUser.acks} methods ${run.amqpPerUser.methods}`
            : '')
        : ''),
  );
}

const measure = (label: string, run: () => Promise<RunResult>) => withRetries(label, 3, run);

if (options.sweep) {
  const { runSweep } = await import('./modes/sweep.js');
  await runSweep({ options, scripts, machine, command, outFile, progress, measure });
  process.exit(0);
}
if (options.instances) {
  const { runInstances } = await import('./modes/instances.js');
  await runInstances({ options, scripts, machine, command, outFile, progress, measure });
  process.exit(0);
}
if (options.soak !== undefined) {
  const { runSoak } = await import('./modes/soak.js');
  await runSoak({ options, scripts, machine, command, outFile });
  process.exit(0);
}
if (options.profile) {
  const { runProfiles } = await import('./modes/profile.js');
  await runProfiles({ options, machine, scripts, outFile, command });
  process.exit(0);
}
if (options.allocations) {
  const { runAllocations } = await import('./modes/allocations.js');
  await runAllocations({ options, machine, scripts, outFile, command });
  process.exit(0);
}

function usersOf(name: VariantName, bench: BenchOptions) {
  return name === 'seed' ? { users: bench.seedUsers, warmup: Math.min(bench.warmup, 50) } : bench;
}

async function rounds(bench: BenchOptions, built: BuiltScripts): Promise<RunResult[]> {
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

async function statementRuns(bench: BenchOptions, built: BuiltScripts): Promise<RunResult[]> {
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

const runs = await rounds(options, scripts);
const statements = await statementRuns(options, scripts);
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
);
const lowRate = await openLoopRuns(options, scripts, 50, options.lowRateSeconds, 'at 50/s');

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
    throughput: 'measured users / (first request sent to last card stored), both times from the database (see latency)',
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
process.exit(0);
