/**
 * Kysely's PostgreSQL driver with two round trips fewer per transaction. On this kind of machine each
 * statement's socket write is the largest single cost of a message (see docs/benchmarks.md, "Where the time
 * goes"), so a transaction's statements leave together where nothing waits on an answer in between:
 *
 * - `BEGIN` is not sent on its own: it leaves in one write with the transaction's first statement;
 * - a statement made with `deferred()` (the outbox rows, written last) is not awaited: it leaves in one write
 *   with the next statement, the `COMMIT`, and its own error is the commit's.
 *
 * The pool's clients run in node-postgres' pipeline mode, which lets several statements be on the wire at
 * once; one at a time, as Kysely sends them otherwise, nothing changes. Semantics stay those of one
 * transaction: a statement that fails aborts it, and the `COMMIT` then fails (PostgreSQL answers it with
 * `ROLLBACK`). Savepoints and streaming are not supported (the runtime uses neither).
 *
 * Statements made with `prepared()` are named prepared statements (unless the dialect is made with
 * `namedStatements: false`): each connection parses and plans one once, and afterwards sends only its
 * parameters, which spares PostgreSQL the parse and plan of every execution.
 */
import {
  AbortedTransactionError,
  CompiledQuery,
  PostgresDialect,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import pg from 'pg';
import { classifyError } from '../policies/classify-error.js';

const deferredQueries = new WeakSet<CompiledQuery>();

/** The server-side name of each statement text that `prepared()` made, in the order they were made. */
const statementNames = new Map<string, string>();

/**
 * Names `text` as a prepared statement: every connection of a driver with named statements prepares it on
 * first use. For texts written once (`prepared()`): each distinct text stays prepared on every connection.
 */
export function nameStatement(text: string): void {
  if (!statementNames.has(text)) statementNames.set(text, `ackstate_${statementNames.size + 1}`);
}

/**
 * A statement whose result nobody reads, run in a transaction: it is sent with the next one (usually the
 * `COMMIT`), which fails if it fails. Outside a transaction of this driver it runs as any other.
 */
export function deferred(query: CompiledQuery): CompiledQuery {
  deferredQueries.add(query);
  return query;
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** The client's socket: corked while several statements are written, so that they leave in one write. */
function socketOf(client: pg.PoolClient): Corkable | undefined {
  return (client as unknown as { connection?: { stream?: Partial<Corkable> } }).connection?.stream as
    Corkable | undefined;
}

/**
 * pg's query_timeout rejects a query that got no answer but leaves it on its connection: every later
 * query on that client waits behind it and times out in turn, and the pool hands the client out again
 * and again. That is what a primary that vanished without resetting its connections leaves (a host lost,
 * an address moved), for as long as TCP takes to give up: many minutes. Ending the client at its first
 * timeout makes the transaction's rollback fail at once, and the pool drops it when it is released.
 */
function endOnReadTimeout(client: pg.PoolClient, error: Error): void {
  if (error.message === 'Query read timeout') void client.end().catch(() => {});
}

/**
 * Clients that answered with an outage: a session opened while the database was read-only stays read-only
 * for its whole life, one that hit a timeout may be stuck behind a lock, one told the server is shutting
 * down is about to be cut. Each is ended when it is released, never handed out again.
 */
const condemned = new WeakMap<pg.PoolClient, Error>();

/** An error that the breaker takes for an outage (a timeout included) condemns the connection it came on. */
function condemnOnOutage(client: pg.PoolClient, error: Error): void {
  const failure = classifyError(error);
  if (failure.kind === 'unavailable' || failure.timedOut === true) condemned.set(client, error);
}

/**
 * Sends one statement as a pg `Query` made here, named when `name` is given. Handed a text, pg copies no
 * config object (it copies every object it is given, property by property) and wraps no second promise
 * around the first; the statement's error comes back as pg made it.
 */
function submit(client: pg.PoolClient, text: string, values: unknown[], name?: string): Promise<pg.QueryResult> {
  return new Promise((resolve, reject) => {
    const query = new pg.Query(text, values, (error, result) => {
      if (error) {
        endOnReadTimeout(client, error);
        condemnOnOutage(client, error);
        reject(error);
      } else {
        resolve(result as unknown as pg.QueryResult);
      }
    });
    if (name !== undefined) (query as unknown as { name: string }).name = name;
    client.query(query);
  });
}

function resultOf<R>({ command, rowCount, rows }: pg.QueryResult): QueryResult<R> {
  if (command === 'ROLLBACK' || command === 'COMMIT') return { rows: [{ command } as R] };
  const changed = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
  return { numAffectedRows: changed ? BigInt(rowCount ?? 0) : undefined, rows: (rows ?? []) as R[] };
}

class PipelinedConnection implements DatabaseConnection {
  readonly client: pg.PoolClient;
  readonly #named: boolean;
  /** Between BEGIN and COMMIT or ROLLBACK. */
  inTransaction = false;
  /** Set when the connection must not go back to the pool (its rollback failed). */
  broken: Error | undefined;
  /** The transaction's opening statement, not sent yet: it leaves with the first statement. */
  #opening: CompiledQuery | undefined;
  /** Deferred statements, sent with the next one. */
  #ahead: CompiledQuery[] = [];

  constructor(client: pg.PoolClient, named: boolean) {
    this.client = client;
    this.#named = named;
  }

  #send(query: CompiledQuery): Promise<pg.QueryResult> {
    return submit(
      this.client,
      query.sql,
      [...query.parameters],
      this.#named ? statementNames.get(query.sql) : undefined,
    );
  }

  begin(opening: CompiledQuery): void {
    this.#opening = opening;
    this.inTransaction = true;
  }

  /** Ends the transaction here; true when its BEGIN had been sent (so that there is something to end). */
  end(): boolean {
    const opened = this.inTransaction && this.#opening === undefined;
    this.#opening = undefined;
    this.#ahead = [];
    this.inTransaction = false;
    return opened;
  }

  /** Nothing of the transaction has been sent or deferred: only its BEGIN is waiting. */
  isEmpty(): boolean {
    return this.#opening !== undefined && this.#ahead.length === 0;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.inTransaction && deferredQueries.has(query)) {
      this.#ahead.push(query);
      return { rows: [] };
    }
    if (this.#opening !== undefined || this.#ahead.length > 0) return this.#sendTogether<R>(query);
    return resultOf<R>(await this.#send(query));
  }

  async #sendTogether<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const queries = [...(this.#opening ? [this.#opening] : []), ...this.#ahead, query];
    this.#opening = undefined;
    this.#ahead = [];
    const socket = socketOf(this.client);
    socket?.cork();
    let sent: Promise<pg.QueryResult>[];
    try {
      sent = queries.map((each) => this.#send(each));
    } finally {
      socket?.uncork();
    }
    const settled = await Promise.allSettled(sent);
    // The first failure is the cause: the statements after it fail only because the transaction aborted.
    for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
    const last = settled[settled.length - 1] as PromiseFulfilledResult<pg.QueryResult>;
    return resultOf<R>(last.value);
  }

  // eslint-disable-next-line require-yield -- never streams: the runtime reads no query as a stream
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the pipelined driver');
  }
}

// Made once: BEGIN and COMMIT run for every transaction, and a compiled query is immutable.
const beginStatement = CompiledQuery.raw('begin');
const commitStatement = CompiledQuery.raw('commit');

/** Why a client was ended instead of being handed out again: it was opened before `discardConnections()`. */
const staleConnection = new Error('opened before the pool was renewed');

/** The driver's methods beyond Kysely's `Driver`. */
export interface RenewableDriver extends Driver {
  /**
   * Ends every pooled connection opened before now, as each is next acquired or released: what a write
   * probe on a fresh connection saw is then what every statement meets (sessions opened during an outage
   * may keep its settings, such as `default_transaction_read_only`, for their whole life).
   */
  discardConnections(): void;
}

class PipelinedDriver implements RenewableDriver {
  readonly #pool: pg.Pool;
  readonly #named: boolean;
  readonly #connections = new WeakMap<pg.PoolClient, PipelinedConnection>();
  /** The generation each client was first handed out in. */
  readonly #generations = new WeakMap<pg.PoolClient, number>();
  #generation = 0;
  #destroyed = false;

  constructor(pool: pg.Pool, named: boolean) {
    this.#pool = pool;
    this.#named = named;
  }

  async init(): Promise<void> {}

  discardConnections(): void {
    this.#generation += 1;
  }

  /** True for a client opened before the latest `discardConnections()`. */
  #stale(client: pg.PoolClient): boolean {
    const generation = this.#generations.get(client);
    if (generation === undefined) this.#generations.set(client, this.#generation);
    return generation !== undefined && generation < this.#generation;
  }

  async #freshClient(): Promise<pg.PoolClient> {
    for (;;) {
      const client = await this.#pool.connect();
      if (!this.#stale(client)) return client;
      client.release(staleConnection);
    }
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const client = await this.#freshClient();
    if (this.#destroyed) {
      client.release();
      throw new Error('driver has already been destroyed');
    }
    // One connection object per pool client, for the client's life: Kysely remembers every connection it
    // was given (a WeakSet), and a new object per transaction would be one more entry each time.
    let connection = this.#connections.get(client);
    if (connection === undefined) {
      connection = new PipelinedConnection(client, this.#named);
      this.#connections.set(client, connection);
    }
    connection.broken = undefined;
    return connection;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const pipelined = connection as PipelinedConnection;
    if (!settings.isolationLevel && !settings.accessMode) {
      pipelined.begin(beginStatement);
      return;
    }
    let text = 'start transaction';
    if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) text += ` ${settings.accessMode}`;
    pipelined.begin(CompiledQuery.raw(text));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const pipelined = connection as PipelinedConnection;
    if (!pipelined.inTransaction) return;
    try {
      // A transaction that sent nothing (not even its BEGIN) has nothing to commit.
      if (pipelined.isEmpty()) return;
      const { rows } = await pipelined.executeQuery<{ command?: string }>(commitStatement);
      // PostgreSQL completes COMMIT with a ROLLBACK tag if an earlier statement left the transaction aborted.
      if (rows[0]?.command === 'ROLLBACK') throw new AbortedTransactionError();
    } finally {
      // Sent, the COMMIT ends the transaction whatever its outcome: no ROLLBACK follows it.
      pipelined.end();
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const pipelined = connection as PipelinedConnection;
    if (!pipelined.end()) return; // BEGIN was never sent: there is nothing to roll back
    try {
      await submit(pipelined.client, 'rollback', []);
    } catch (error) {
      pipelined.broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const pipelined = connection as PipelinedConnection;
    pipelined.end();
    const { client } = pipelined;
    client.release(pipelined.broken ?? condemned.get(client) ?? (this.#stale(client) ? staleConnection : undefined));
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await this.#pool.end();
  }
}

export interface PipelinedDialectOptions {
  /** Statements made with `prepared()` run as named prepared statements (default true). */
  readonly namedStatements?: boolean;
}

/** Kysely's PostgreSQL dialect on the pipelined driver. The pool should be made with `pipeline: true`. */
export class PipelinedPostgresDialect extends PostgresDialect {
  readonly #pool: pg.Pool;
  readonly #named: boolean;

  constructor(pool: pg.Pool, { namedStatements = true }: PipelinedDialectOptions = {}) {
    super({ pool });
    this.#pool = pool;
    this.#named = namedStatements;
  }

  /** The driver made for the Kysely instance, once there is one (the runtime's transactions open on it). */
  driver: RenewableDriver | undefined;

  override createDriver(): RenewableDriver {
    this.driver = new PipelinedDriver(this.#pool, this.#named);
    return this.driver;
  }
}
