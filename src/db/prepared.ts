/**
 * Queries run for every message, written once as SQL text. Kysely's builders allocate and compile a query
 * tree on every call, which the profile of the benchmark showed as a real share of a message's cost; these
 * statements skip that and go straight to Kysely's driver (the same connection, transaction and errors).
 */
import { CompiledQuery, type Kysely, type QueryResult } from 'kysely';

export type PreparedQuery<Row, Params extends readonly unknown[]> = (
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
  ...params: Params
) => Promise<QueryResult<Row>>;

export function prepared<Row = never, Params extends readonly unknown[] = readonly unknown[]>(
  text: string,
): PreparedQuery<Row, Params> {
  return (db, ...params) => db.executeQuery(CompiledQuery.raw(text, params as unknown as unknown[]));
}
