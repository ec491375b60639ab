/**
 * Queries run for every message, written once as SQL text. Kysely's builders allocate and compile a query
 * tree on every call, which the profile of the benchmark showed as a real share of a message's cost; these
 * statements skip that and go straight to Kysely's driver (the same connection, transaction and errors).
 */
import { CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import { nameStatement } from './pipelined-driver.js';

/** What a statement runs on: any Kysely instance or transaction, whatever its tables. */
export type QueryRunner = Pick<Kysely<unknown>, 'executeQuery'>;

/** A statement bound to its text: run it on any database or transaction with its parameters. */
export type PreparedQuery<Row, Params extends readonly unknown[]> = (
  db: QueryRunner,
  ...params: Params
) => Promise<QueryResult<Row>>;

/**
 * A statement written as SQL text with `$1`, `$2` … parameters, run through Kysely's driver (the same
 * connection, transaction and errors) without building a query tree on every call. On the runtime's
 * databases it is a named prepared statement: each connection parses and plans it once (unless the service's
 * `database.preparedStatements` is false). Make each one once, at module level: every distinct text stays
 * prepared on every connection for the connection's life.
 *
 * @example
 * ```ts
 * const storeCard = prepared<never, readonly [id: string, userId: string]>(
 *   'INSERT INTO cards (id, user_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
 * );
 * await storeCard(trx, card.id, card.user_id);
 * ```
 */
export function prepared<Row = never, Params extends readonly unknown[] = readonly unknown[]>(
  text: string,
): PreparedQuery<Row, Params> {
  nameStatement(text);
  // Made once: each run differs only in its parameters (CompiledQuery.raw would build a query node, a query id
  // and three frozen objects per run).
  const { query, queryId } = CompiledQuery.raw(text);
  return (db, ...params) => db.executeQuery({ sql: text, query, queryId, parameters: params });
}
