/**
 * `npm run bench [-- options]` (see options.ts): ackstate against a hand-written reference pipeline and
 * against the seed setting (PREFETCH=1), in alternating rounds on the local broker and database; then the
 * latency at half of ackstate's peak. Prints the table and writes bench/results/latest.json.
 * `--memory` runs the memory check instead, `--profile` a CPU profile of each pipeline, `--per-delivery` the
 * CPU of one delivery in the runtime's own layers.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { withRetries } from './attempts.js';
import { describeMachine } from './machine.js';
import { runMemoryCheck } from './memory.js';
import { parseOptions } from './options.js';
import { ackstateMain, repoRoot } from './paths.js';
import { runProfiles } from './profile.js';
import { buildReference } from './reference-build.js';
import { formatReport, ratiosOf, summarizeVariant, targetsOf, writeReport, type BenchReport } from './report.js';
import { measureRun, type RunResult } from './run.js';
import { variants, type VariantName } from './variants.js';

const options = parseOptions(process.argv.slice(2));
if (options.perDelivery) {
  const { formatPerDelivery, measurePerDelivery } = await import('./per-delivery.js');
  console.log(formatPerDelivery(await measurePerDelivery()));
  process.exit(0);
}
if (!existsSync(ackstateMain)) {
  console.error('bench: dist/main.js is missing; run `npm run build` first (npm run bench does)');
  process.exit(2);
}
const outFile = path.resolve(repoRoot, options.out);
const referenceMain = await buildReference();
const machine = await describeMachine();
const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;

if (options.memory) {
  await runMemoryCheck(options, machine, referenceMain, outFile);
  process.exit(0);
}
if (options.profile) {
  await runProfiles(options, machine, referenceMain, outFile);
  process.exit(0);
}

const progress = (run: RunResult, round: string) =>
  console.log(
    `[${elapsed()}] ${round} ${run.variant.padEnd(9)} ${String(run.users).padStart(5)} users  ${String(run.usersPerSecond).padStart(7)} users/s  ` +
      `p50 ${run.latencyMs.p50} p95 ${run.latencyMs.p95} p99 ${run.latencyMs.p99} ms  CPU ${run.cpuSecondsPer1kUsers} s/1k  ` +
      `peak RSS ${run.peakRssMiB} MiB  left ${run.messagesLeft}  unsent ${run.unsentOutboxRows}  commits/user ${run.commitsPerUser}  ${run.load}`,
  );

const order = (['ackstate', 'reference', 'unbatched', 'seed'] as VariantName[]).filter((name) =>
  options.only.includes(name),
);
console.log(
  `bench: ${options.rounds} rounds of ${order.join(' / ')}; ${options.users} users (seed: ${options.seedUsers}), ${options.concurrency} clients, ${options.warmup} warm-up users per run`,
);
const runs: RunResult[] = [];
for (let round = 1; round <= options.rounds; round += 1) {
  for (const name of order) {
    const run = await withRetries(`${name} round ${round}`, 3, () =>
      measureRun({
        variant: variants[name],
        referenceMain,
        users: name === 'seed' ? options.seedUsers : options.users,
        warmup: name === 'seed' ? Math.min(options.warmup, 50) : options.warmup,
        concurrency: options.concurrency,
        pollMs: options.pollMs,
        keepLogs: options.keepLogs,
      }),
    );
    runs.push(run);
    progress(run, `round ${round}`);
  }
}
const medians = order.map((name) =>
  summarizeVariant(
    name,
    runs.filter((run) => run.variant === name),
  ),
);
const ratios = ratiosOf(medians);

const halfRate: RunResult[] = [];
const peak = medians.find((summary) => summary.variant === 'ackstate')?.usersPerSecond;
if (options.halfRateSeconds > 0 && peak !== undefined && Number.isFinite(peak)) {
  const perSecond = peak / 2;
  const users = Math.max(50, Math.round(perSecond * options.halfRateSeconds));
  for (const name of order.filter((variant) => variant === 'ackstate' || variant === 'reference')) {
    const run = await withRetries(`${name} at half rate`, 3, () =>
      measureRun({
        variant: variants[name],
        referenceMain,
        users,
        perSecond,
        warmup: options.warmup,
        concurrency: options.concurrency,
        pollMs: options.pollMs,
        keepLogs: options.keepLogs,
      }),
    );
    halfRate.push(run);
    progress(run, 'half rate');
  }
}

const report: BenchReport = {
  date: new Date().toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  machine,
  options: { ...options },
  method: {
    processes:
      'each pipeline runs as one process holding both services: `node dist/main.js both` for ackstate and the seed setting, the compiled bench/reference/main.ts for the reference',
    isolation:
      'every run has its own queue names and databases, deleted afterwards; runs alternate ackstate, reference, seed within each round',
    throughput: 'users / (first POST to the poll that saw the last card stored), closed loop',
    latency:
      "POST start to the batched poll of the user database that saw the card (resolution: poll interval + query time, see pollResolutionMs); storedLatencyMs uses the row's stored_at instead",
    cpu: 'utime + stime of the service process from /proc/<pid>/stat over the measured phase (warm-up excluded), per 1,000 users',
    rss: 'VmHWM (peak resident set) of the service process from /proc/<pid>/status at the end of the run',
    messagesLeft:
      "ready + unacked messages in the run's four queues after the run (rabbitmqctl list_queues), waited for up to 15 s",
    logging: 'LOG_LEVEL=info, stdout to a file; transitionsPerUser counts the `transition` lines',
    commitsPerUser:
      "xact_commit of both databases (pg_stat_database) over the measured phase, less the bench's own polls, per user (approximate: PostgreSQL flushes these statistics about once a second, and the relays' sweeps count too)",
  },
  medians,
  ratios,
  halfRate,
  targets: targetsOf(medians, ratios, halfRate, runs),
  runs,
};
console.log(`\n${formatReport(report)}\n`);
await writeReport(outFile, report);
console.log(`bench: wrote ${path.relative(repoRoot, outFile)} (${elapsed()})`);
process.exit(0);
