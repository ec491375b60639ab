/**
 * One measured run of one variant: fresh queues and databases, start its processes, warm up, then put
 * the load on and measure until every user has its card; afterwards check the queues, the outboxes and
 * the log, and clean up (also on failure).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Accounting, type Account } from './accounting.js';
import { amqpCountsPerUser, startAmqpCounter, type AmqpCounter, type AmqpCounts } from './amqp-counter.js';
import { transactionCounts } from './database-counters.js';
import { amqpUrl, createBenchEnvironment, postgresServer, type BenchEnvironment } from './environment.js';
import { startLoad, type GeneratorResult, type Load } from '../load/generators.js';
import { UserDatabase } from './outcome.js';
import { startPipeline, type Pipeline } from './pipeline.js';
import { unsentOutboxRows, waitForEmptyQueues } from './queues.js';
import type { BuiltScripts } from './reference-build.js';
import { startStatementCounter, type StatementCounter } from './statement-counter.js';
import type { LatencySummary } from './stats.js';
import type { TransitionCheck } from './transitions.js';
import type { Variant } from '../modes/variants.js';
import { sleep } from '../../test/support/wait.js';

export interface RunOptions {
  readonly variant: Variant;
  readonly scripts: BuiltScripts;
  readonly users: number;
  readonly warmup: number;
  readonly load: Load;
  readonly instances?: number;
  /** Routes the pipeline's database connections through the statement counter (the statements pass). */
  readonly countStatements?: boolean;
  readonly pollMs: number;
  readonly keepLogs?: boolean;
  /** Node flags for the pipeline's processes (the profiler's, the allocation sampler's, `--node-flags`). */
  readonly nodeArgs?: readonly string[];
  /** Called with the pipeline's process ids when the measured users start, and when they are all stored. */
  readonly measuredPhase?: {
    started(pids: readonly number[]): Promise<void>;
    ended(pids: readonly number[]): Promise<void>;
  };
  readonly extraEnv?: Record<string, string>;
}

export interface RunResult {
  readonly variant: string;
  readonly load: string;
  readonly instances: number;
  readonly users: number;
  readonly seconds: number;
  readonly usersPerSecond: number;
  /** Request sent (scheduled, in the open loop) to the card row's stored_at, ms. */
  readonly latencyMs: LatencySummary;
  readonly cpuSeconds: number;
  readonly cpuMsPerUser: number;
  /** The share of that CPU spent off the processes' main threads (garbage collection, compilation, libuv). */
  readonly helperThreadsCpuShare: number;
  readonly peakRssMiB: number;
  readonly messagesLeft: number;
  readonly unsentOutboxRows: number;
  readonly usersWithoutCard: number;
  /** Cards in the card service's database less users in the user service's: 0 when each user got one card. */
  readonly cardsMinusUsers: number;
  readonly logLines: number;
  readonly logLinesPerUser: number;
  readonly transitionsPerUser: number;
  readonly transitionCheck?: TransitionCheck;
  readonly commitsPerUser: number;
  readonly statementsPerUser?: number;
  /** The statements pass: AMQP methods per user on the pipeline's broker connections. */
  readonly amqpPerUser?: AmqpCounts;
  /** Where the machine went over the measured phase, per user (absent in results from before issue 26). */
  readonly account?: Account;
  readonly generator: GeneratorResult & { readonly cpuMsPerUser: number };
  readonly benchCpuSeconds: number;
  readonly exitCodes: (number | string)[];
  readonly logFiles?: string[];
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

function describeLoad(load: Load): string {
  return load.kind === 'closed'
    ? `closed loop, wrk, ${load.connections} connections`
    : `open loop, ${round(load.perSecond, 1)} users/s`;
}

/** The environment with its database and broker URLs pointing at the counting proxies. */
function throughCounters(
  environment: BenchEnvironment,
  counter: StatementCounter,
  amqp: AmqpCounter,
): Record<string, string> {
  const via = (url: string, port: number) => {
    const parsed = new URL(url);
    parsed.port = String(port);
    return parsed.toString();
  };
  return {
    USER_DB_URL: via(environment.userDbUrl, counter.port),
    CARD_DB_URL: via(environment.cardDbUrl, counter.port),
    AMQP_URL: via(amqpUrl, amqp.port),
  };
}

async function cardsMinusUsers(environment: BenchEnvironment, users: number): Promise<number> {
  const client = new pg.Client({ connectionString: environment.cardDbUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM cards');
    return Number(rows[0]!.count) - users;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates `users` users under `label` and waits until every user in the database has its card. */
async function createUsers(
  pipeline: Pipeline,
  database: UserDatabase,
  options: RunOptions,
  load: Load,
  label: string,
  users: number,
  expectedTotal: number,
): Promise<GeneratorResult> {
  const running = startLoad({
    load,
    urls: pipeline.userUrls,
    label,
    users,
  });
  let result: GeneratorResult | undefined;
  const timeoutMs = 120_000 + users * 50;
  try {
    await database.waitForCards(expectedTotal, options.pollMs, timeoutMs, async () => {
      result = await running.finish();
    });
  } finally {
    result ??= await running.finish().catch(() => undefined);
  }
  return result!;
}

export async function measureRun(options: RunOptions): Promise<RunResult> {
  const { variant } = options;
  const instances = options.instances ?? 1;
  const environment = createBenchEnvironment(variant.name);
  const id = `${environment.id.replace(/_/g, '')}${randomBytes(2).toString('hex')}`;
  let counter: StatementCounter | undefined;
  let amqpCounter: AmqpCounter | undefined;
  let accounting: Accounting | undefined;
  let pipeline: Pipeline | undefined;
  let database: UserDatabase | undefined;
  try {
    if (!variant.createsOwnDatabases) await environment.createDatabases();
    const { hostname, port } = new URL(postgresServer);
    if (options.countStatements) {
      counter = await startStatementCounter(hostname, Number(port || 5432));
      const broker = new URL(amqpUrl);
      amqpCounter = await startAmqpCounter(broker.hostname, Number(broker.port || 5672));
    }
    const extraEnv = {
      ...(counter && amqpCounter ? throughCounters(environment, counter, amqpCounter) : {}),
      ...options.extraEnv,
    };
    pipeline = await startPipeline(variant, options.scripts, environment, instances, extraEnv, options.nodeArgs);
    database = await UserDatabase.open(environment.userDbUrl);
    const warmupLoad: Load = { kind: 'closed', connections: 32 };
    if (options.warmup > 0)
      await createUsers(pipeline, database, options, warmupLoad, `w${id}`, options.warmup, options.warmup);
    const before = await database.counts();
    accounting = await Accounting.open([environment.userDbUrl, environment.cardDbUrl], [await database.backendPid()]);
    await sleep(1_100); // PostgreSQL's statistics are flushed about once a second
    const countsBefore = await transactionCounts([environment.userDbUrl, environment.cardDbUrl]);
    const accountBefore = await accounting.counters();
    const queriesBefore = database.queries;
    counter?.reset();
    amqpCounter?.reset();
    const machineBefore = accounting.cpuSnapshot();
    const benchCpuBefore = process.cpuUsage();
    const cpuBefore = pipeline.cpuSeconds();
    const mainCpuBefore = pipeline.mainThreadCpuSeconds();
    const pids = pipeline.processes.map((started) => started.pid);
    await options.measuredPhase?.started(pids);
    const rss = pipeline.startRssSampling();

    const generator = await createUsers(
      pipeline,
      database,
      options,
      options.load,
      `m${id}`,
      options.users,
      before.users + options.users,
    );
    const cpu = pipeline.cpuSeconds() - cpuBefore;
    const benchCpu = process.cpuUsage(benchCpuBefore);
    // Backends a pool opened during the phase count too (from 0: all their CPU was spent in it).
    await accounting.findBackends();
    const machineAfter = accounting.cpuSnapshot();
    const mainCpu = pipeline.mainThreadCpuSeconds() - mainCpuBefore;
    await options.measuredPhase?.ended(pids);
    const statements = counter?.statements;
    const amqpCounts = amqpCounter?.counts;
    rss.stop();
    const peakRssMiB = pipeline.peakRssMiB();
    const measured = await database.measured(`m${id}`);
    const total = await database.counts();

    const left = await waitForEmptyQueues(environment.queues, 15_000);
    const unsent = (await unsentOutboxRows(environment.userDbUrl)) + (await unsentOutboxRows(environment.cardDbUrl));
    const cardsDiff = await cardsMinusUsers(environment, total.users);
    await sleep(1_100);
    const countsAfter = await transactionCounts([environment.userDbUrl, environment.cardDbUrl]);
    const accountAfter = await accounting.counters();
    // Not the pipeline's: the bench's own polls and the three counts just made.
    const benchQueries = database.queries - queriesBefore + 3;
    const commits = countsAfter.commits - countsBefore.commits - benchQueries;
    const metrics = await pipeline.scrapeAll();
    const exitCodes = await pipeline.stop();
    const logs = await pipeline.logs(options.keepLogs ?? false);
    const logLines = logs.reduce((sum, log) => sum + log.lines, 0);
    const transitions = logs.reduce((sum, log) => sum + log.transitions, 0);
    const transitionCheck = pipeline.checkTransitions(logs, metrics);
    const users = measured.users;
    const account: Account = {
      cpuMsPerUser: accounting.cpuAccount(machineBefore, machineAfter, users, {
        pipelineSeconds: cpu,
        generatorSeconds: generator.cpuSeconds,
        benchSeconds: (benchCpu.user + benchCpu.system) / 1e6,
      }),
      databasePerUser: Accounting.databaseAccount(accountBefore, accountAfter, users, benchQueries),
    };
    const logFiles = logs.flatMap((log) => (log.file ? [log.file] : []));
    return {
      variant: variant.name,
      load: describeLoad(options.load),
      instances,
      users,
      seconds: round(measured.seconds, 3),
      usersPerSecond: round(users / measured.seconds, 1),
      latencyMs: measured.latencyMs,
      cpuSeconds: round(cpu),
      cpuMsPerUser: round((cpu / users) * 1000, 3),
      helperThreadsCpuShare: cpu > 0 ? round(1 - mainCpu / cpu, 3) : 0,
      peakRssMiB: round(peakRssMiB, 1),
      messagesLeft: left.total,
      unsentOutboxRows: unsent,
      usersWithoutCard: measured.usersWithoutCard + (total.users - total.cards),
      cardsMinusUsers: cardsDiff,
      logLines,
      logLinesPerUser: round(logLines / total.users, 2),
      transitionsPerUser: round(transitions / total.users, 2),
      ...(transitionCheck ? { transitionCheck } : {}),
      commitsPerUser: round(commits / users, 3),
      ...(statements !== undefined ? { statementsPerUser: round(statements / users, 2) } : {}),
      ...(amqpCounts !== undefined ? { amqpPerUser: amqpCountsPerUser(amqpCounts, users) } : {}),
      account,
      generator: { ...generator, cpuMsPerUser: round((generator.cpuSeconds / users) * 1000, 3) },
      benchCpuSeconds: round((benchCpu.user + benchCpu.system) / 1e6),
      exitCodes,
      ...(logFiles.length > 0 ? { logFiles } : {}),
    };
  } finally {
    await database?.close();
    if (pipeline) {
      await pipeline.stop(5_000);
      if (!options.keepLogs) await pipeline.logs(false).catch(() => {});
    }
    await counter?.close();
    await amqpCounter?.close();
    await accounting?.close();
    await environment.cleanUp().catch((error: unknown) => console.error(`bench: ${String(error)}`));
  }
}
