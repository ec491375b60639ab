/**
 * One throwaway PostgreSQL 15 server on this machine, beside (never touching) its own server on 5432: a
 * cluster in a temporary folder owned by the postgres user, listening on 127.0.0.1 on a free port, its unix
 * socket in that folder, run as the postgres user. A test may stop it (`pg_ctl stop -m fast`, as an operator
 * restarting PostgreSQL does) and start it again on the same port and data.
 *
 * Torn down with the server stopped (killed if it does not stop) and the folder deleted, also from a
 * process-exit hook if the test's own teardown never ran.
 */
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asPostgres, postgresIds, postmasterPid, processesUnder } from './postgres-processes.js';
import { freePort } from './service-process.js';
import { alive } from './system-processes.js';
import { waitUntil } from './wait.js';

export interface PostgresServer {
  readonly port: number;
  /** The server's base URL as the superuser (`postgres://postgres@127.0.0.1:<port>`), without a database. */
  readonly url: string;
  /** `pg_ctl stop -m fast`: sessions are terminated (57P01), new connections refused until `start`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** True once the server is stopped, no process runs under its folder and the folder is gone. */
  isGone(): boolean;
  /** Stops the server, deletes the folder. Safe to call twice. */
  tearDown(): Promise<void>;
}

/** `settings`: extra lines of postgresql.conf (`max_connections`, …). */
export async function startPostgresServer(settings: Record<string, string | number> = {}): Promise<PostgresServer> {
  if (process.getuid?.() !== 0) throw new Error('running PostgreSQL as the postgres user needs root (runuser)');
  const ids = postgresIds();
  const root = mkdtempSync(path.join(tmpdir(), 'ackstate-pg1-'));
  const sockets = path.join(root, 'sockets');
  mkdirSync(sockets);
  for (const dir of [root, sockets]) chownSync(dir, ids.uid, ids.gid);
  const dataDir = path.join(root, 'data');
  const port = await freePort();

  const killLeftovers = () => {
    const pid = postmasterPid(dataDir);
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', killLeftovers);

  const start = async () => {
    await asPostgres(root, 'pg_ctl', ['start', '-D', dataDir, '-l', `${dataDir}.log`, '-w', '-t', '60']);
    postmasterPid(dataDir);
  };
  let tornDown = false;
  const tearDown = async () => {
    if (tornDown) return;
    tornDown = true;
    process.off('exit', killLeftovers);
    if (alive(postmasterPid(dataDir)))
      await asPostgres(root, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => {});
    const pid = postmasterPid(dataDir);
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    await waitUntil(() => processesUnder(root).length === 0 && !alive(postmasterPid(dataDir)), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the test server to be gone',
    }).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  };

  try {
    await asPostgres(root, 'initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    const lines = Object.entries({
      listen_addresses: '127.0.0.1',
      port,
      unix_socket_directories: sockets,
      shared_buffers: '32MB',
      fsync: 'off',
      ...settings,
    }).map(([name, value]) => `${name} = ${typeof value === 'number' ? value : `'${value}'`}\n`);
    appendFileSync(path.join(dataDir, 'postgresql.conf'), lines.join(''));
    await start();
  } catch (error) {
    await tearDown();
    throw error;
  }

  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}`,
    async stop() {
      await asPostgres(root, 'pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
    },
    start,
    isGone() {
      return !alive(postmasterPid(dataDir)) && processesUnder(root).length === 0 && !existsSync(root);
    },
    tearDown,
  };
}
