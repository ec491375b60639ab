/**
 * A throwaway PostgreSQL 15 primary and streaming standby on this machine, beside (never touching) its
 * own server on 5432: both clusters live in one temporary folder owned by the postgres user, listen on
 * 127.0.0.1 on free ports, keep their unix sockets in that folder, and run as the postgres user.
 *
 * Two loopback proxies stand between the parts, as a production network would:
 * - the endpoint, the one address the services use (a virtual IP, PgBouncer, a cloud endpoint): it
 *   leads to the primary until `failover` moves it to the promoted standby;
 * - the replication link, the standby's WAL stream from the primary: `holdBackReplication` cuts it, so
 *   that whatever commits afterwards on the primary is deterministically missing from the standby.
 *
 * Torn down with both servers stopped (killed if they do not stop), the proxies closed and the folder
 * deleted, also from a process-exit hook if the test's own teardown never ran.
 */
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { query } from './environment.js';
import { asPostgres, postgresIds, postmasterPid, processesUnder } from './postgres-processes.js';
import { alive } from './system-processes.js';
import { freePort } from './service-process.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { waitUntil } from './wait.js';

/** The name the standby connects with; `synchronous_standby_names` lists it. */
const standbyName = 'standby';

export interface PostgresNode {
  readonly role: 'primary' | 'standby';
  readonly port: number;
  readonly dataDir: string;
  /** A URL straight to this server (not through the endpoint), for the test's own checks. */
  url(database: string): string;
}

export interface PostgresPairOptions {
  /** Commits wait for the standby (`synchronous_standby_names = 'ANY 1 (standby)'`); else asynchronous. */
  readonly synchronous: boolean;
}

export interface FailoverTimes {
  readonly killedAt: number;
  /** `pg_ctl promote` returned and the standby takes writes. */
  readonly promotedAt: number;
  /** The endpoint leads to the new primary. */
  readonly movedAt: number;
}

export interface FailoverOptions {
  /** Runs once the standby is promoted, before the endpoint leads to it. */
  readonly beforeMove?: () => Promise<void>;
  /**
   * The old primary vanishes without a word, as a host that lost its power: from the kill on the
   * endpoint black-holes its connections, and they stay hung after the move instead of being reset.
   */
  readonly silently?: boolean;
}

export interface PostgresPair {
  readonly primary: PostgresNode;
  readonly standby: PostgresNode;
  /** The endpoint's URL for a database: what USER_DB_URL and CARD_DB_URL name. */
  endpointUrl(database: string): string;
  /** The node the endpoint leads to now. */
  current(): PostgresNode;
  /** Waits until the standby has replayed everything the primary has written so far. */
  waitReplicated(): Promise<void>;
  /** Cuts the standby's replication link: it receives nothing more from the primary. */
  holdBackReplication(): Promise<void>;
  /**
   * Kills the primary (`pg_ctl stop -m immediate`), promotes the standby (`pg_ctl promote`) and moves the
   * endpoint to it, resetting the connections that led to the old primary.
   */
  failover(options?: FailoverOptions): Promise<FailoverTimes>;
  /** True once no server of the pair runs, the proxies are closed and the folder is gone. */
  isGone(): boolean;
  /** Stops both servers, closes the proxies, deletes the folder. Safe to call twice. */
  tearDown(): Promise<void>;
}

const settings = (entries: Record<string, string | number>) =>
  Object.entries(entries)
    .map(([name, value]) => `${name} = ${typeof value === 'number' ? value : `'${value}'`}\n`)
    .join('');

function makeNode(role: PostgresNode['role'], port: number, dataDir: string): PostgresNode {
  return {
    role,
    port,
    dataDir,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
  };
}

async function startServer(root: string, node: PostgresNode): Promise<void> {
  await asPostgres(root, 'pg_ctl', ['start', '-D', node.dataDir, '-l', `${node.dataDir}.log`, '-w', '-t', '60']);
  postmasterPid(node.dataDir);
}

async function initPrimary(root: string, node: PostgresNode, { synchronous }: PostgresPairOptions): Promise<void> {
  await asPostgres(root, 'initdb', ['-D', node.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  appendFileSync(
    path.join(node.dataDir, 'postgresql.conf'),
    settings({
      listen_addresses: '127.0.0.1',
      port: node.port,
      unix_socket_directories: path.join(root, 'sockets'),
      wal_level: 'replica',
      max_wal_senders: 5,
      wal_keep_size: '256MB',
      shared_buffers: '32MB',
      synchronous_commit: 'on',
      synchronous_standby_names: synchronous ? `ANY 1 (${standbyName})` : '',
    }),
  );
  await startServer(root, node);
}

/**
 * A base backup of the primary, started as a hot standby streaming through the replication link. It
 * waits for no standby of its own: after a promotion it commits alone, as a failover manager leaves a
 * new primary until a standby is rebuilt.
 */
async function initStandby(root: string, primary: PostgresNode, node: PostgresNode, linkPort: number) {
  await asPostgres(root, 'pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    node.dataDir,
    '-R',
    '-X',
    'stream',
    '-c',
    'fast',
    '--no-sync',
  ]);
  // postgresql.auto.conf is read last, and a later line wins over -R's own primary_conninfo.
  appendFileSync(
    path.join(node.dataDir, 'postgresql.auto.conf'),
    settings({
      port: node.port,
      primary_conninfo: `host=127.0.0.1 port=${linkPort} user=postgres application_name=${standbyName}`,
      synchronous_standby_names: '',
    }),
  );
  await startServer(root, node);
}

async function currentLsn(node: PostgresNode): Promise<string> {
  const [row] = await query<{ lsn: string }>(node.url('postgres'), 'SELECT pg_current_wal_lsn()::text AS lsn');
  return row!.lsn;
}

async function replayedPast(standby: PostgresNode, lsn: string): Promise<boolean> {
  const [row] = await query<{ done: boolean }>(
    standby.url('postgres'),
    'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
    [lsn],
  );
  return row!.done;
}

async function streamingStandbys(primary: PostgresNode): Promise<{ state: string; sync_state: string }[]> {
  return query(primary.url('postgres'), 'SELECT state, sync_state FROM pg_stat_replication');
}

export async function startPostgresPair(options: PostgresPairOptions): Promise<PostgresPair> {
  if (process.getuid?.() !== 0) throw new Error('running PostgreSQL as the postgres user needs root (runuser)');
  const ids = postgresIds();
  const root = mkdtempSync(path.join(tmpdir(), 'ackstate-pg-'));
  mkdirSync(path.join(root, 'sockets'));
  for (const dir of [root, path.join(root, 'sockets')]) chownSync(dir, ids.uid, ids.gid);
  const primary = makeNode('primary', await freePort(), path.join(root, 'primary'));
  const standby = makeNode('standby', await freePort(), path.join(root, 'standby'));
  const nodes = [primary, standby];
  const proxies: TcpProxy[] = [];
  let proxiesClosed = false;

  // Last resort if the test process ends without its teardown (a runner timeout, a crash): no server of
  // ours may outlive it. Synchronous, as 'exit' handlers must be; a postmaster's children end with it.
  const killLeftovers = () => {
    for (const node of nodes) {
      const pid = postmasterPid(node.dataDir);
      if (alive(pid)) process.kill(pid!, 'SIGKILL');
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killLeftovers);

  let tornDown = false;
  const tearDown = async () => {
    if (tornDown) return;
    tornDown = true;
    process.off('exit', killLeftovers);
    for (const node of nodes) {
      if (alive(postmasterPid(node.dataDir)))
        await asPostgres(root, 'pg_ctl', ['stop', '-D', node.dataDir, '-m', 'immediate', '-w']).catch(() => {});
      const pid = postmasterPid(node.dataDir);
      if (alive(pid)) process.kill(pid!, 'SIGKILL');
    }
    await waitUntil(
      () => processesUnder(root).length === 0 && nodes.every((node) => !alive(postmasterPid(node.dataDir))),
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'every server of the test pair to be gone',
      },
    ).catch(() => {});
    await Promise.all(proxies.map((proxy) => proxy.close()));
    proxiesClosed = true;
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await initPrimary(root, primary, options);
    const link = await startTcpProxy(primary.port);
    proxies.push(link);
    await initStandby(root, primary, standby, link.port);
    await waitUntil(async () => (await streamingStandbys(primary)).some((row) => row.state === 'streaming'), {
      timeoutMs: 60_000,
      what: 'the standby to stream from the primary',
    });
    const endpoint = await startTcpProxy(primary.port);
    proxies.push(endpoint);
    return pairOf({ primary, standby, link, endpoint, root, tearDown, proxiesClosed: () => proxiesClosed });
  } catch (error) {
    await tearDown();
    throw error;
  }
}

interface PairParts {
  readonly primary: PostgresNode;
  readonly standby: PostgresNode;
  readonly link: TcpProxy;
  readonly endpoint: TcpProxy;
  readonly root: string;
  tearDown(): Promise<void>;
  proxiesClosed(): boolean;
}

function pairOf({ primary, standby, link, endpoint, root, tearDown, proxiesClosed }: PairParts): PostgresPair {
  let current = primary;
  return {
    primary,
    standby,
    endpointUrl: (database) => `postgres://postgres@127.0.0.1:${endpoint.port}/${database}`,
    current: () => current,
    async waitReplicated() {
      const lsn = await currentLsn(primary);
      await waitUntil(() => replayedPast(standby, lsn), { what: `the standby to replay up to ${lsn}` });
    },
    async holdBackReplication() {
      link.cut();
      await waitUntil(async () => (await streamingStandbys(primary)).length === 0, {
        what: 'the primary to see its standby gone',
      });
    },
    async failover({ beforeMove, silently = false } = {}) {
      const killedAt = Date.now();
      if (silently) endpoint.blackHole();
      await asPostgres(root, 'pg_ctl', ['stop', '-D', primary.dataDir, '-m', 'immediate', '-w']);
      await asPostgres(root, 'pg_ctl', ['promote', '-D', standby.dataDir, '-w', '-t', '60']);
      await waitUntil(
        async () => {
          const [row] = await query<{ recovery: boolean }>(
            standby.url('postgres'),
            'SELECT pg_is_in_recovery() AS recovery',
          );
          return !row!.recovery;
        },
        { what: 'the promoted standby to take writes' },
      );
      const promotedAt = Date.now();
      await beforeMove?.();
      endpoint.moveTo(standby.port, { reset: !silently });
      current = standby;
      return { killedAt, promotedAt, movedAt: Date.now() };
    },
    isGone() {
      const stopped = [primary, standby].every((node) => !alive(postmasterPid(node.dataDir)));
      return stopped && processesUnder(root).length === 0 && proxiesClosed() && !existsSync(root);
    },
    tearDown,
  };
}
