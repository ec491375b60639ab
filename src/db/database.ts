import { Kysely, type QueryExecutor } from 'kysely';
import pg from 'pg';
import { redact } from '../redact.js';
import { PipelinedPostgresDialect, type RenewableDriver } from './pipelined-driver.js';
import { allowTransactions } from './transactions.js';

export interface DatabaseOptions {
  readonly url: string;
  readonly maxConnections?: number;
  /** How long a query may wait for the server's answer (default 30 s; tests shorten it). */
  readonly queryTimeoutMs?: number;
  /** `prepared()` statements as named prepared statements (default true; see pipelined-driver.ts). */
  readonly preparedStatements?: boolean;
}

/** The database name a postgres:// URL points at. */
export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!name) throw new Error(`no database name in ${redact(url)}`);
  return name;
}

export function createPool({ url, maxConnections = 10, queryTimeoutMs = 30_000 }: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
    // Statements of a transaction that wait on nothing leave together (see pipelined-driver.ts).
    pipeline: true,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled, it would crash the
  // process. The next query on that pool fails instead, and the delivery machine handles that failure.
  pool.on('error', () => {});
  // A client checked out by an open transaction has no pool listener: its server's FATAL (a terminated
  // session) would be an unhandled 'error' event. The transaction's next query fails instead. (A client whose
  // query timed out is ended by the driver: see pipelined-driver.ts.)
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

/** What `createDatabase` keeps of each database: how to open a connection of its own, and its driver. */
interface PoolParts {
  readonly url: string;
  readonly driver: RenewableDriver;
}

const poolsByExecutor = new WeakMap<QueryExecutor, PoolParts>();

export function createDatabase<DB>(options: DatabaseOptions): Kysely<DB> {
  const namedStatements = options.preparedStatements ?? true;
  const dialect = new PipelinedPostgresDialect(createPool(options), { namedStatements });
  const db = new Kysely<DB>({ dialect });
  allowTransactions(db as Kysely<unknown>, { dialect, driver: dialect.driver! });
  poolsByExecutor.set(db.getExecutor(), { url: options.url, driver: dialect.driver! });
  return db;
}

function poolOf<DB>(db: Kysely<DB>): PoolParts {
  const parts = poolsByExecutor.get(db.getExecutor());
  if (parts === undefined) throw new Error('the database was not made by createDatabase');
  return parts;
}

/**
 * A connection of its own to `db`'s database, outside its pool: it meets what a new session meets (the
 * role's and the database's current defaults), whatever the pooled sessions were opened with. End it after.
 */
export async function connectAlone<DB>(db: Kysely<DB>, timeoutMs: number): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: poolOf(db).url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

/** Ends every pooled connection of `db` opened before now, as each is next used (see `RenewableDriver`). */
export function renewConnections<DB>(db: Kysely<DB>): void {
  poolOf(db).driver.discardConnections();
}

/**
 * Creates the database a URL names when it does not exist yet, connecting to the server's `postgres`
 * database to do it. Safe when several processes try at once.
 */
export async function ensureDatabaseExists(url: string): Promise<void> {
  const name = databaseName(url);
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const client = new pg.Client({ connectionString: adminUrl.toString(), connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    // 42P04: created meanwhile by another process; 23505: the same race seen through pg_database's index.
    if (code !== '42P04' && code !== '23505') throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Drops a database (tests clean up with it), ending its other sessions first. */
export async function dropDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  const adminUrl = new URL(url);
  adminUrl.pathname = '/postgres';
  const client = new pg.Client({ connectionString: adminUrl.toString() });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end().catch(() => {});
  }
}
