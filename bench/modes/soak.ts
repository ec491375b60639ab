/**
 * `--soak N`: ackstate (defaults, retention on with short windows) under N users at a steady open-loop
 * rate. Every 10 s: RSS and the inbox, outbox, users and cards row counts of both databases. At the end:
 * the throughput and latency of the first and the last segment (50,000 users, or a tenth of N if less).
 * Targets (issue 14): last segment's throughput within 10% of the first's, RSS flat within 10%, inbox and
 * outbox bounded (at most what the retention windows hold).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { createBenchEnvironment } from '../harness/environment.js';
import { startLoad } from '../load/generators.js';
import type { MachineInfo } from '../harness/machine.js';
import type { BenchOptions } from './options.js';
import { UserDatabase } from '../harness/outcome.js';
import { repoRoot } from '../harness/paths.js';
import { startPipeline } from '../harness/pipeline.js';
import { memory } from '../harness/process-stats.js';
import { waitForEmptyQueues } from '../harness/queues.js';
import type { BuiltScripts } from '../harness/reference-build.js';
import { writeReport } from '../report/report.js';
import { variants } from './variants.js';

/** Retention on, with windows short enough to act within the soak (each within ackstate's checks). */
export const soakRetentionEnv = {
  DEDUPLICATION_WINDOW_MS: '60000',
  SENT_OUTBOX_GRACE_MS: '10000',
  RETENTION_INTERVAL_MS: '5000',
  RETRY_MAX_MS: '5000',
  DELAYED_RETRY_SECONDS: 'none',
};

export interface SoakSample {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly users: number;
  readonly inboxRows: number;
  readonly outboxRows: number;
}

export interface SoakSegment {
  readonly name: string;
  readonly users: number;
  readonly usersPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function rowCounts(urls: readonly string[]): Promise<{ inbox: number; outbox: number }> {
  let inbox = 0;
  let outbox = 0;
  for (const url of urls) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query<{ inbox: string; outbox: string }>(
        'SELECT (SELECT count(*) FROM inbox) AS inbox, (SELECT count(*) FROM outbox) AS outbox',
      );
      inbox += Number(rows[0]!.inbox);
      outbox += Number(rows[0]!.outbox);
    } finally {
      await client.end().catch(() => {});
    }
  }
  return { inbox, outbox };
}

/** One segment of the open loop's users (their index is the email's third part), from the database. */
async function segment(userDbUrl: string, label: string, name: string, from: number, to: number): Promise<SoakSegment> {
  const client = new pg.Client({ connectionString: userDbUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ users: string; seconds: number; p50: number; p99: number }>(
      `WITH t AS (
         SELECT split_part(split_part(u.email, '-', 4), '@', 1)::bigint AS sent_us,
                (extract(epoch FROM c.stored_at) * 1000000)::bigint AS stored_us
         FROM users u JOIN cards c ON c.user_id = u.id
         WHERE u.email LIKE $1 AND split_part(u.email, '-', 3)::int >= $2 AND split_part(u.email, '-', 3)::int < $3)
       SELECT count(*) AS users, (max(stored_us) - min(sent_us)) / 1e6 AS seconds,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY stored_us - sent_us) / 1000 AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY stored_us - sent_us) / 1000 AS p99
       FROM t`,
      [`${label}-%`, from, to],
    );
    const row = rows[0]!;
    const round = (value: number) => Math.round(Number(value) * 10) / 10;
    return {
      name,
      users: Number(row.users),
      usersPerSecond: round(Number(row.users) / Number(row.seconds)),
      p50Ms: round(row.p50),
      p99Ms: round(row.p99),
    };
  } finally {
    await client.end().catch(() => {});
  }
}

export async function runSoak(context: {
  options: BenchOptions;
  scripts: BuiltScripts;
  machine: MachineInfo;
  command: string;
  outFile: string;
}): Promise<void> {
  const { options, scripts } = context;
  const total = options.soak ?? 500_000;
  const segmentUsers = Math.min(50_000, Math.floor(total / 10));
  const environment = createBenchEnvironment('soak');
  const label = `s${environment.id.replace(/_/g, '')}`;
  const pipeline = await startPipeline(variants.ackstate, scripts, environment, 1, soakRetentionEnv);
  const database = await UserDatabase.open(environment.userDbUrl);
  const samples: SoakSample[] = [];
  const began = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const sample = async () => {
    const { inbox, outbox } = await rowCounts([environment.userDbUrl, environment.cardDbUrl]);
    const rssMiB = pipeline.processes.reduce((sum, each) => sum + memory(each.pid).rssMiB, 0);
    const { users } = await database.counts();
    samples.push({
      seconds: Math.round((Date.now() - began) / 1000),
      rssMiB: Math.round(rssMiB * 10) / 10,
      users,
      inboxRows: inbox,
      outboxRows: outbox,
    });
    const last = samples.at(-1)!;
    console.log(
      `[${last.seconds} s] ${last.users} users  RSS ${last.rssMiB} MiB  inbox ${last.inboxRows}  outbox ${last.outboxRows}`,
    );
  };
  try {
    console.log(
      `bench --soak: ${total} users at ${options.soakRate} users/s, retention ${JSON.stringify(soakRetentionEnv)}`,
    );
    timer = setInterval(() => void sample().catch(() => {}), 10_000);
    const load = startLoad({
      load: { kind: 'open', perSecond: options.soakRate },
      urls: pipeline.userUrls,
      label,
      users: total,
    });
    await database.waitForCards(total, 1_000, 600_000 + (total / options.soakRate) * 3_000, async () => {
      await load.finish();
    });
    clearInterval(timer);
    await sample();
    const left = await waitForEmptyQueues(environment.queues, 15_000);
    const segments = [
      await segment(environment.userDbUrl, label, `first ${segmentUsers}`, 0, segmentUsers),
      await segment(environment.userDbUrl, label, `last ${segmentUsers}`, total - segmentUsers, total),
    ];
    const [first, last] = segments as [SoakSegment, SoakSegment];
    const steady = samples.filter((each) => each.users >= segmentUsers);
    const rss = steady.map((each) => each.rssMiB);
    const report: SoakReport = {
      date: new Date().toISOString(),
      command: context.command,
      machine: context.machine,
      users: total,
      rate: options.soakRate,
      retention: soakRetentionEnv,
      segments,
      throughputChange: Math.round((last.usersPerSecond / first.usersPerSecond - 1) * 1000) / 10,
      rssMiB: { first: rss[0] ?? null, last: rss.at(-1) ?? null, min: Math.min(...rss), max: Math.max(...rss) },
      inboxRowsMax: Math.max(...samples.map((each) => each.inboxRows)),
      outboxRowsMax: Math.max(...samples.map((each) => each.outboxRows)),
      messagesLeft: left.total,
      samples,
    };
    await writeReport(context.outFile, report);
    const { renderSoak } = await import('../report/mode-tables.js');
    console.log(`\n${renderSoak(report)}\n\nbench: wrote ${path.relative(repoRoot, context.outFile)}`);
  } finally {
    clearInterval(timer);
    await database.close();
    await pipeline.stop(10_000);
    // A soak's log runs to hundreds of MB: deleted unread unless kept.
    if (!options.keepLogs) await Promise.all(pipeline.processes.map((each) => rm(each.logFile, { force: true })));
    await environment.cleanUp().catch((error: unknown) => console.error(`bench: ${String(error)}`));
  }
}

export interface SoakReport {
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly users: number;
  readonly rate: number;
  readonly retention: Readonly<Record<string, string>>;
  readonly segments: readonly SoakSegment[];
  readonly throughputChange: number;
  readonly rssMiB: {
    readonly first: number | null;
    readonly last: number | null;
    readonly min: number;
    readonly max: number;
  };
  readonly inboxRowsMax: number;
  readonly outboxRowsMax: number;
  readonly messagesLeft: number;
  readonly samples: readonly SoakSample[];
}
