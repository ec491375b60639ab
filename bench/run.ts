/**
 * One measured run of one variant: fresh queues and databases, start the process, warm it up, then
 * create the users and measure; afterwards check the queues and outboxes are empty, and clean up.
 */
import { randomBytes } from 'node:crypto';
import { CardWatcher } from './card-watcher.js';
import { transactionCounts } from './database-counters.js';
import { createBenchEnvironment } from './environment.js';
import { userClient } from './http-client.js';
import { cpuSeconds, memory, sampleRss } from './process-stats.js';
import { unsentOutboxRows, waitForEmptyQueues } from './queues.js';
import { startProcess } from './service-process.js';
import { summarize, type LatencySummary } from './stats.js';
import type { Variant } from './variants.js';
import { closedLoop, openLoop } from './workload.js';

export interface RunOptions {
  readonly variant: Variant;
  readonly referenceMain: string;
  readonly users: number;
  readonly warmup: number;
  /** Closed loop with this many clients, or, when `perSecond` is set, an open loop at that rate. */
  readonly concurrency: number;
  readonly perSecond?: number;
  readonly pollMs: number;
  readonly nodeArgs?: readonly string[];
  readonly keepLogs?: boolean;
  readonly extraEnv?: Record<string, string>;
}

export interface RunResult {
  readonly variant: string;
  readonly load: string;
  readonly users: number;
  readonly seconds: number;
  readonly usersPerSecond: number;
  /** POST start to the poll that saw the card (ms). */
  readonly latencyMs: LatencySummary;
  /** POST start to the card row's stored_at (ms). */
  readonly storedLatencyMs: LatencySummary;
  readonly pollResolutionMs: number;
  readonly cpuSeconds: number;
  readonly cpuSecondsPer1kUsers: number;
  readonly peakRssMiB: number;
  readonly rssAtEndMiB: number;
  readonly messagesLeft: number;
  readonly messagesLeftSource: string;
  readonly unsentOutboxRows: number;
  readonly logLines: number;
  readonly transitionsPerUser: number;
  readonly logLinesPerUser: number;
  /** Transactions committed in both databases per user over the measured phase (the bench's polls excluded). */
  readonly commitsPerUser: number;
  readonly rollbacks: number;
  readonly httpRetries: number;
  readonly benchCpuSeconds: number;
  readonly exitCode: number | string;
  readonly logFile?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function measureRun(options: RunOptions): Promise<RunResult> {
  const { variant } = options;
  const environment = createBenchEnvironment(variant.name);
  if (!variant.createsOwnDatabases) await environment.createDatabases();
  const service = await startProcess({
    label: variant.name,
    script: variant.script(options.referenceMain),
    args: variant.args,
    nodeArgs: options.nodeArgs ?? [],
    env: { ...variant.env(environment), ...options.extraEnv },
  });
  let watcher: CardWatcher | undefined;
  const client = userClient(
    service.url,
    `${environment.id}-${randomBytes(3).toString('hex')}`,
    Math.max(options.concurrency, 64),
  );
  try {
    await service.waitForReady();
    watcher = await CardWatcher.open(environment.userDbUrl, options.pollMs);
    const drainTimeoutMs = 120_000 + options.users * 100;
    if (options.warmup > 0) {
      await closedLoop({
        client,
        watcher,
        firstIndex: 0,
        users: options.warmup,
        concurrency: options.concurrency,
        drainTimeoutMs,
      });
    }
    watcher.reset();
    await sleep(1_100); // PostgreSQL's statistics are flushed about once a second
    const countsBefore = await transactionCounts([environment.userDbUrl, environment.cardDbUrl]);
    const benchCpuBefore = process.cpuUsage();
    const cpuBefore = cpuSeconds(service.pid);
    const rss = sampleRss(service.pid);
    const load = options.perSecond
      ? `open loop, ${round(options.perSecond, 1)} users/s`
      : `closed loop, ${options.concurrency} clients`;
    const workload = options.perSecond
      ? await openLoop({
          client,
          watcher,
          firstIndex: options.warmup,
          users: options.users,
          perSecond: options.perSecond,
          drainTimeoutMs,
        })
      : await closedLoop({
          client,
          watcher,
          firstIndex: options.warmup,
          users: options.users,
          concurrency: options.concurrency,
          drainTimeoutMs,
        });
    const cpu = cpuSeconds(service.pid) - cpuBefore;
    const benchCpu = process.cpuUsage(benchCpuBefore);
    rss.stop();
    const { peakRssMiB, rssMiB } = memory(service.pid);
    const completions = watcher.completions;
    const polls = watcher.polls;
    const pollResolutionMs = options.pollMs + (watcher.polls > 0 ? watcher.pollMs / watcher.polls : 0);
    await watcher.close();
    watcher = undefined;

    const left = await waitForEmptyQueues(environment.queues, 15_000);
    const unsent = (await unsentOutboxRows(environment.userDbUrl)) + (await unsentOutboxRows(environment.cardDbUrl));
    await sleep(1_100);
    const countsAfter = await transactionCounts([environment.userDbUrl, environment.cardDbUrl]);
    // Not the pipeline's: the watcher's polls and the two unsent-outbox counts just made.
    const commits = countsAfter.commits - countsBefore.commits - polls - 2;
    const exitCode = await service.stop();
    const log = await service.logSummary(options.keepLogs ?? false);
    return {
      variant: variant.name,
      load,
      users: options.users,
      seconds: round(workload.seconds, 3),
      usersPerSecond: round(options.users / workload.seconds, 1),
      latencyMs: summarize(completions.map((completion) => completion.observedMs)),
      storedLatencyMs: summarize(completions.map((completion) => completion.storedMs)),
      pollResolutionMs: round(pollResolutionMs, 1),
      cpuSeconds: round(cpu),
      cpuSecondsPer1kUsers: round((cpu / options.users) * 1000, 3),
      peakRssMiB: round(peakRssMiB, 1),
      rssAtEndMiB: round(rssMiB, 1),
      messagesLeft: left.total,
      messagesLeftSource: left.source,
      unsentOutboxRows: unsent,
      logLines: log.lines,
      transitionsPerUser: round(log.transitions / (options.users + options.warmup), 1),
      logLinesPerUser: round(log.lines / (options.users + options.warmup), 1),
      commitsPerUser: round(commits / options.users, 2),
      rollbacks: countsAfter.rollbacks - countsBefore.rollbacks,
      httpRetries: client.retries,
      benchCpuSeconds: round((benchCpu.user + benchCpu.system) / 1e6),
      exitCode,
      ...(log.file ? { logFile: log.file } : {}),
    };
  } finally {
    client.close();
    await watcher?.close();
    await service.stop(5_000);
    if (!options.keepLogs) await service.logSummary(false).catch(() => {});
    await environment.cleanUp().catch((error: unknown) => console.error(`bench: ${String(error)}`));
  }
}
