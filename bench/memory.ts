/**
 * `--memory`: is ackstate's memory flat under load? One process, users created in steps of
 * `--memory-small` (closed loop) up to `--memory-large`; after each step the pipeline drains, idles 2 s
 * and VmRSS is read. Target: RSS after the last step within 10% of RSS after the first.
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CardWatcher } from './card-watcher.js';
import { createBenchEnvironment } from './environment.js';
import { userClient } from './http-client.js';
import type { MachineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import { memory } from './process-stats.js';
import { waitForEmptyQueues } from './queues.js';
import { repoRoot } from './paths.js';
import { writeReport } from './report.js';
import { startProcess } from './service-process.js';
import { variants } from './variants.js';
import { closedLoop } from './workload.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runMemoryCheck(
  options: BenchOptions,
  machine: MachineInfo,
  referenceMain: string,
  outFile: string,
): Promise<void> {
  const variant = variants.ackstate;
  const environment = createBenchEnvironment('memory');
  const service = await startProcess({
    label: 'memory',
    script: variant.script(referenceMain),
    args: variant.args,
    env: variant.env(environment),
  });
  const client = userClient(service.url, `${environment.id}-${randomBytes(3).toString('hex')}`, 64);
  let watcher: CardWatcher | undefined;
  const steps: { users: number; rssMiB: number; peakRssMiB: number; usersPerSecond: number }[] = [];
  try {
    await service.waitForReady();
    watcher = await CardWatcher.open(environment.userDbUrl, 50);
    console.log(
      `bench --memory: ackstate, ${options.memoryLarge} users in steps of ${options.memorySmall}, ${options.concurrency} clients`,
    );
    let created = 0;
    while (created < options.memoryLarge) {
      const users = Math.min(options.memorySmall, options.memoryLarge - created);
      const result = await closedLoop({
        client,
        watcher,
        firstIndex: created,
        users,
        concurrency: options.concurrency,
        drainTimeoutMs: 600_000,
      });
      created += users;
      watcher.reset();
      await sleep(2_000);
      const { rssMiB, peakRssMiB } = memory(service.pid);
      steps.push({
        users: created,
        rssMiB: Math.round(rssMiB * 10) / 10,
        peakRssMiB: Math.round(peakRssMiB * 10) / 10,
        usersPerSecond: Math.round((users / result.seconds) * 10) / 10,
      });
      console.log(
        `  after ${String(created).padStart(6)} users: RSS ${steps.at(-1)!.rssMiB} MiB (peak ${steps.at(-1)!.peakRssMiB} MiB), ${steps.at(-1)!.usersPerSecond} users/s`,
      );
    }
    const left = await waitForEmptyQueues(environment.queues, 15_000);
    const first = steps[0]!;
    const last = steps.at(-1)!;
    const growth = Math.round(((last.rssMiB - first.rssMiB) / first.rssMiB) * 1000) / 10;
    const met = Math.abs(growth) <= 10;
    console.log(
      `\nRSS after ${first.users} users: ${first.rssMiB} MiB; after ${last.users}: ${last.rssMiB} MiB; growth ${growth}% ` +
        `(target within 10%: ${met ? 'met' : 'MISSED'}); messages left ${left.total}`,
    );
    await writeReport(outFile, {
      date: new Date().toISOString(),
      command: `npm run bench -- ${process.argv.slice(2).join(' ')}`,
      machine,
      variant: variant.description,
      steps,
      growthPercent: growth,
      target: { target: `RSS after ${last.users} users within 10% of RSS after ${first.users}`, met },
      messagesLeft: left.total,
    });
    console.log(`bench: wrote ${path.relative(repoRoot, outFile)}`);
  } finally {
    client.close();
    await watcher?.close();
    await service.stop();
    await service.logSummary(options.keepLogs);
    await environment.cleanUp().catch((error: unknown) => console.error(`bench: ${String(error)}`));
  }
}
