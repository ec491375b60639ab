/**
 * `npm run bench [-- options]` (see modes/options.ts): by default (modes/latest.ts) ackstate at its defaults,
 * at its best settings and with MAX_BATCH=1 against the limit (ref-limit), the batched reference at
 * ackstate's defaults and the unbatched one, in alternating rounds on the local broker and database, with
 * where the machine goes per user; then the statements pass and the open-loop latencies. Prints the tables
 * and writes bench/results/latest.json; `npm run bench:docs` renders them into docs/benchmarks.md.
 * `--sweep` a grid of batch settings, `--instances` and `--soak` the scale modes, `--profile` a CPU profile,
 * `--allocations` the bytes allocated per user by package, `--per-delivery` the CPU of one delivery in the
 * runtime's own layers. bench/harness/ runs and measures one pipeline, bench/modes/ the modes,
 * bench/report/ the medians, ratios and docs, bench/load/ wrk's scripts, bench/reference/ the hand-written
 * pipelines.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withRetries } from './harness/attempts.js';
import { cleanUpOnSignals } from './harness/interrupts.js';
import { describeMachine } from './harness/machine.js';
import { ackstateMain, repoRoot } from './harness/paths.js';
import { buildScripts } from './harness/reference-build.js';
import type { RunResult } from './harness/run.js';
import { parseOptions } from './modes/options.js';

const options = parseOptions(process.argv.slice(2));
if (options.perDelivery) {
  const { formatPerDelivery, measurePerDelivery } = await import('./modes/per-delivery.js');
  console.log(formatPerDelivery(await measurePerDelivery()));
  process.exit(0);
}
if (options.actors) {
  const { formatActorCost, measureActorCost } = await import('./modes/actor-cost.js');
  console.log(formatActorCost(await measureActorCost()));
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

const { runLatest } = await import('./modes/latest.js');
await runLatest({ options, scripts, machine, command, outFile, loadAverageBefore, elapsed, progress, measure });
process.exit(0);
