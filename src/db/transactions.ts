/**
 * The runtime's own transactions (a batch of deliveries, a group commit), opened on the database's driver
 * directly. Kysely's `startTransaction()` and `transaction()` build a builder, frozen copies of the instance's
 * settings, a query id and a new executor for every statement of the transaction; this runs once per message
 * with `MAX_BATCH=1`, so it is kept to one executor and one `Transaction` per transaction. What the handler is
 * given is still Kysely's `Transaction`, and it refuses to run anything once the transaction has ended.
 */
import {
  isAbortedTransactionError,
  Transaction,
  type ConnectionProvider,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryExecutor,
} from 'kysely';

/** What a transaction is opened with: recorded by `createDatabase` for the executor of the instance it makes. */
export interface TransactionParts {
  readonly dialect: Dialect;
  readonly driver: Driver;
}

const partsByExecutor = new WeakMap<QueryExecutor, TransactionParts>();

/** Lets `openTransaction` open transactions of `db` (and of its `withTables()` views, which share its executor). */
export function allowTransactions(db: Kysely<unknown>, parts: TransactionParts): void {
  partsByExecutor.set(db.getExecutor(), parts);
}

type TransactionState = 'open' | 'committed' | 'rolled back';

/** The transaction's one connection, refused once the transaction has ended. */
class TransactionConnection implements ConnectionProvider {
  state: TransactionState = 'open';
  statements = 0;

  constructor(readonly connection: DatabaseConnection) {}

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    if (this.state !== 'open') throw new Error(`the transaction is already ${this.state}`);
    this.statements += 1;
    return consumer(this.connection);
  }
}

/**
 * One piece of code's share of a transaction (a handler's, in a batch): its statements are counted as they
 * start, synchronously, so whether it ran any is known the moment it returns or throws. Once `disown()`ed
 * (its handler failed and the batch goes on without it), a statement it still starts is recorded as late.
 */
export interface TransactionLease<DB> {
  /** The same transaction: statements run through it count as this lease's. */
  readonly trx: Transaction<DB>;
  /** Statements started through `trx` so far. */
  readonly statements: number;
  /** From now on, a statement started through `trx` is late: it runs, and `late` says so. */
  disown(): void;
  /** True once a statement was started after `disown()`. */
  readonly late: boolean;
}

/** A lease's connection: the transaction's, counting the lease's statements on the way. */
class LeaseConnection implements ConnectionProvider {
  statements = 0;
  disowned = false;
  late = false;

  constructor(readonly transaction: TransactionConnection) {}

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    if (this.disowned) this.late = true;
    this.statements += 1;
    return this.transaction.provideConnection(consumer);
  }
}

function transactionOn<DB>(db: Kysely<DB>, parts: TransactionParts, provider: ConnectionProvider): Transaction<DB> {
  return new Transaction<DB>({
    config: { dialect: parts.dialect },
    dialect: parts.dialect,
    driver: parts.driver,
    executor: db.getExecutor().withConnectionProvider(provider),
  });
}

/** A transaction between its BEGIN and its COMMIT or ROLLBACK. */
export class OpenTransaction<DB> {
  /** What the statements of the transaction run on. */
  readonly trx: Transaction<DB>;
  readonly #db: Kysely<DB>;
  readonly #parts: TransactionParts;
  readonly #driver: Driver;
  readonly #provider: TransactionConnection;

  constructor(db: Kysely<DB>, parts: TransactionParts, connection: DatabaseConnection) {
    this.#db = db;
    this.#parts = parts;
    this.#driver = parts.driver;
    this.#provider = new TransactionConnection(connection);
    this.trx = transactionOn(db, parts, this.#provider);
  }

  /** A share of this transaction whose statements are counted apart (see `TransactionLease`). */
  lease(): TransactionLease<DB> {
    const connection = new LeaseConnection(this.#provider);
    return {
      trx: transactionOn(this.#db, this.#parts, connection),
      get statements() {
        return connection.statements;
      },
      disown() {
        connection.disowned = true;
      },
      get late() {
        return connection.late;
      },
    };
  }

  /** How many statements have been run through `trx` so far: code that ran none has changed nothing. */
  get statements(): number {
    return this.#provider.statements;
  }

  /** Neither committed nor rolled back yet. */
  get isOpen(): boolean {
    return this.#provider.state === 'open';
  }

  /**
   * Commits. A COMMIT that PostgreSQL answers with ROLLBACK ends the transaction and throws
   * `AbortedTransactionError`; any other failure leaves it open, to be rolled back.
   */
  async commit(): Promise<void> {
    const provider = this.#provider;
    if (provider.state !== 'open') throw new Error(`the transaction is already ${provider.state}`);
    try {
      await this.#driver.commitTransaction(provider.connection);
    } catch (error) {
      if (isAbortedTransactionError(error)) await this.#end('rolled back');
      throw error;
    }
    await this.#end('committed');
  }

  /** Rolls back, unless it has already ended; the connection is released even when the rollback fails. */
  async rollback(): Promise<void> {
    if (this.#provider.state !== 'open') return;
    try {
      await this.#driver.rollbackTransaction(this.#provider.connection);
    } finally {
      await this.#end('rolled back');
    }
  }

  async #end(state: Exclude<TransactionState, 'open'>): Promise<void> {
    this.#provider.state = state;
    await this.#driver.releaseConnection(this.#provider.connection);
  }
}

/** Begins a transaction on one of the pool's connections. `db` must come from `createDatabase`. */
export async function openTransaction<DB>(db: Kysely<DB>): Promise<OpenTransaction<DB>> {
  const parts = partsByExecutor.get(db.getExecutor());
  if (parts === undefined) throw new Error('openTransaction: the database was not made by createDatabase');
  const connection = await parts.driver.acquireConnection();
  try {
    await parts.driver.beginTransaction(connection, {});
  } catch (error) {
    await parts.driver.releaseConnection(connection);
    throw error;
  }
  return new OpenTransaction(db, parts, connection);
}

/**
 * Runs `work` in a transaction: committed when it resolves, rolled back when it (or the commit) throws.
 * The error thrown is the one that failed the transaction, not a failed rollback's.
 */
export async function transact<DB, T>(db: Kysely<DB>, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  const open = await openTransaction(db);
  try {
    const value = await work(open.trx);
    await open.commit();
    return value;
  } catch (error) {
    await open.rollback().catch(() => {});
    throw error;
  }
}
