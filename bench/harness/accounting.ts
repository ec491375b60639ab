/**
 * Where the whole machine goes during a measured phase, per user: the CPU of the pipeline's processes (measured
 * in run.ts), of the PostgreSQL backends serving the run's two databases, of PostgreSQL's background processes
 * (postmaster, WAL writer, checkpointer, background writer, autovacuum: shared with whatever else uses the
 * server), of RabbitMQ's `beam.smp`, of the load generator and of the bench itself with its poll session's
 * backend; the whole machine's busy time from /proc/stat; and PostgreSQL's counters (commits and rows of the
 * run's databases from pg_stat_database; WAL bytes from the insert position, WAL records, full-page images and
 * syncs from pg_stat_wal, both cluster-wide).
 *
 * Nothing here runs during the measured phase: the processes are found over one persistent session before it
 * starts (a `psql` per poll would cost about 35 ms of CPU each here), and the phase's edges only read /proc.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresServer } from './environment.js';
import { cpuSeconds, ticksPerSecond } from './process-stats.js';

const run = promisify(execFile);

/** CPU ms per measured user, by where it went. `other` is the whole machine less everything named. */
export interface CpuAccount {
  readonly pipeline: number;
  readonly postgresBackends: number;
  readonly postgresBackground: number;
  readonly rabbitmq: number;
  readonly generator: number;
  /** The bench process and its poll session's backend. */
  readonly harness: number;
  /**
   * The sum of the above: every process the run's users passed through. On a machine shared with other work
   * this is the figure to compare; `wholeMachine` also holds the others' (absent before it was added).
   */
  readonly runProcesses?: number;
  /** /proc/stat: every CPU's busy time (user, nice, system, irq, softirq, steal). */
  readonly wholeMachine: number;
  /** The whole machine less the above: other work on the host, the kernel's own threads. */
  readonly other: number;
}

/** PostgreSQL's counters per measured user. */
export interface DatabaseAccount {
  readonly commits: number;
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsDeleted: number;
  /** Cluster-wide (pg_current_wal_insert_lsn), so other work on the server counts too. */
  readonly walBytes: number;
  readonly walRecords: number;
  readonly walFullPageImages: number;
  readonly walSyncs: number;
}

export interface Account {
  readonly cpuMsPerUser: CpuAccount;
  readonly databasePerUser: DatabaseAccount;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Busy and total jiffies of all CPUs (the first line of /proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

const cpuOf = (pid: number): number | undefined => {
  try {
    return cpuSeconds(pid);
  } catch {
    return undefined; // the process has ended
  }
};

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

let brokerPid: Promise<number | undefined> | undefined;

/**
 * The pid of the broker the bench uses: asked of the node itself (`rabbitmqctl eval`, once per bench: it
 * starts an Erlang VM of its own, so never during a phase); else the only `beam.smp` on the machine.
 */
export function rabbitmqPid(): Promise<number | undefined> {
  brokerPid ??= (async () => {
    try {
      const { stdout } = await run('rabbitmqctl', ['eval', 'os:getpid().'], { timeout: 30_000 });
      const pid = Number(/"(\d+)"/.exec(stdout)?.[1]);
      if (Number.isInteger(pid) && commandOf(pid) === 'beam.smp') return pid;
    } catch {
      // no rabbitmqctl, or no rights to it
    }
    const beams = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => commandOf(pid) === 'beam.smp');
    return beams.length === 1 ? beams[0] : undefined;
  })();
  return brokerPid;
}

interface CpuSnapshot {
  readonly at: number;
  readonly machine: { busy: number; total: number };
  readonly byPid: ReadonlyMap<number, number>;
}

interface Counters {
  readonly commits: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly walLsn: string;
  readonly walRecords: number;
  readonly walFpi: number;
  readonly walSyncs: number;
}

/**
 * One run's accounting. `open` finds the processes (before the phase); `cpuSnapshot` reads /proc only (at the
 * phase's edges); `counters` reads PostgreSQL's statistics (after the 1 s their flush takes, outside the phase).
 */
export class Accounting {
  private constructor(
    private readonly client: pg.Client,
    private readonly databases: readonly string[],
    private readonly excludedBackends: readonly number[],
    private readonly beam: number | undefined,
    private backends: number[],
    private background: number[],
  ) {}

  /**
   * `excludedBackends`: the bench's own sessions on the run's databases (its poll), which count as the harness.
   */
  static async open(databaseUrls: readonly string[], excludedBackends: readonly number[]): Promise<Accounting> {
    const databases = databaseUrls.map((url) => decodeURIComponent(new URL(url).pathname.slice(1)));
    const client = new pg.Client({ connectionString: `${postgresServer}/postgres` });
    client.on('error', () => {});
    await client.connect();
    const accounting = new Accounting(client, databases, excludedBackends, await rabbitmqPid(), [], []);
    await accounting.findBackends();
    return accounting;
  }

  /** The run's backends and the server's background processes, as pg_stat_activity lists them now. */
  async findBackends(): Promise<void> {
    const { rows } = await this.client.query<{ pid: number; datname: string | null; backend_type: string }>(
      'SELECT pid, datname, backend_type FROM pg_stat_activity',
    );
    const known = new Set(this.backends);
    for (const row of rows)
      if (row.datname !== null && this.databases.includes(row.datname) && !this.excludedBackends.includes(row.pid))
        known.add(row.pid);
    this.backends = [...known];
    const background = rows.filter((row) => row.datname === null && row.backend_type !== 'client backend');
    const postmaster =
      background[0] && Number(readFileSync(`/proc/${background[0].pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    this.background = [...new Set([...background.map((row) => row.pid), ...(postmaster ? [postmaster] : [])])];
  }

  get rabbitmqFound(): boolean {
    return this.beam !== undefined;
  }

  cpuSnapshot(): CpuSnapshot {
    const byPid = new Map<number, number>();
    for (const pid of [
      ...this.backends,
      ...this.background,
      ...this.excludedBackends,
      ...(this.beam ? [this.beam] : []),
    ]) {
      const seconds = cpuOf(pid);
      if (seconds !== undefined) byPid.set(pid, seconds);
    }
    return { at: Date.now(), machine: machineTicks(), byPid };
  }

  async counters(): Promise<Counters> {
    const { rows } = await this.client.query<{
      commits: string;
      inserted: string;
      updated: string;
      deleted: string;
      lsn: string;
      wal_records: string;
      wal_fpi: string;
      wal_sync: string;
    }>(
      `SELECT coalesce(sum(xact_commit), 0) AS commits, coalesce(sum(tup_inserted), 0) AS inserted,
              coalesce(sum(tup_updated), 0) AS updated, coalesce(sum(tup_deleted), 0) AS deleted,
              pg_current_wal_insert_lsn()::text AS lsn,
              (SELECT wal_records FROM pg_stat_wal) AS wal_records, (SELECT wal_fpi FROM pg_stat_wal) AS wal_fpi,
              (SELECT wal_sync FROM pg_stat_wal) AS wal_sync
       FROM pg_stat_database WHERE datname = ANY($1)`,
      [this.databases],
    );
    const row = rows[0]!;
    return {
      commits: Number(row.commits),
      inserted: Number(row.inserted),
      updated: Number(row.updated),
      deleted: Number(row.deleted),
      walLsn: row.lsn,
      walRecords: Number(row.wal_records),
      walFpi: Number(row.wal_fpi),
      walSyncs: Number(row.wal_sync),
    };
  }

  /** The CPU account of a phase between two snapshots, with the figures measured elsewhere. */
  cpuAccount(
    before: CpuSnapshot,
    after: CpuSnapshot,
    users: number,
    measured: { pipelineSeconds: number; generatorSeconds: number; benchSeconds: number },
  ): CpuAccount {
    const delta = (pids: readonly number[]) =>
      pids.reduce((sum, pid) => {
        const end = after.byPid.get(pid);
        // A backend that started during the phase counts from 0; one that ended is lost (rare: pools keep theirs).
        return end === undefined ? sum : sum + end - (before.byPid.get(pid) ?? 0);
      }, 0);
    const perUser = (seconds: number) => round((seconds / users) * 1000);
    const postgresBackends = delta(this.backends);
    const postgresBackground = delta(this.background);
    const rabbitmq = this.beam ? delta([this.beam]) : NaN;
    const harness = measured.benchSeconds + delta(this.excludedBackends);
    const wholeMachine = (after.machine.busy - before.machine.busy) / ticksPerSecond;
    const named =
      measured.pipelineSeconds +
      postgresBackends +
      postgresBackground +
      (Number.isFinite(rabbitmq) ? rabbitmq : 0) +
      measured.generatorSeconds +
      harness;
    return {
      pipeline: perUser(measured.pipelineSeconds),
      postgresBackends: perUser(postgresBackends),
      postgresBackground: perUser(postgresBackground),
      rabbitmq: perUser(rabbitmq),
      generator: perUser(measured.generatorSeconds),
      harness: perUser(harness),
      runProcesses: perUser(named),
      wholeMachine: perUser(wholeMachine),
      other: perUser(wholeMachine - named),
    };
  }

  static databaseAccount(before: Counters, after: Counters, users: number, benchQueries: number): DatabaseAccount {
    const lsn = (text: string) => {
      const [high, low] = text.split('/');
      return Number.parseInt(high!, 16) * 2 ** 32 + Number.parseInt(low!, 16);
    };
    const perUser = (value: number) => round(value / users);
    return {
      // The bench's own queries on the run's databases are transactions too (its polls and counts).
      commits: perUser(after.commits - before.commits - benchQueries),
      rowsInserted: perUser(after.inserted - before.inserted),
      rowsUpdated: perUser(after.updated - before.updated),
      rowsDeleted: perUser(after.deleted - before.deleted),
      walBytes: round((lsn(after.walLsn) - lsn(before.walLsn)) / users, 0),
      walRecords: perUser(after.walRecords - before.walRecords),
      walFullPageImages: perUser(after.walFpi - before.walFpi),
      walSyncs: perUser(after.walSyncs - before.walSyncs),
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}

/** The run's processes' CPU per user; for results from before the field, the whole machine less `other`. */
export const runProcessesOf = (account: CpuAccount): number =>
  account.runProcesses ?? Math.round((account.wholeMachine - account.other) * 1000) / 1000;
