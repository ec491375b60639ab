/**
 * Queries on the inbox, outbox and attempt tables that every service database holds. They take the
 * shared table shapes, so the runtime can run them on any service's database or transaction.
 */
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { deferred, nameStatement } from './pipelined-driver.js';
import { prepared } from './prepared.js';
import type { MessagingTables } from './schema.js';

export type MessagingDb = Kysely<MessagingTables>;

/**
 * Any service database, seen through the tables the runtime shares: every service database holds them
 * (the runtime migrates them), whatever else its type declares.
 */
export function messagingTablesOf<DB>(db: Kysely<DB>): MessagingDb {
  return db as unknown as MessagingDb;
}

export interface OutgoingMessage {
  /** The message id on the wire: a UUID unless the handler chose one. */
  readonly id: string;
  /** `''` for the default exchange, where `routingKey` is a queue's name. */
  readonly exchange: string;
  readonly routingKey: string;
  /** The exact JSON text to publish. */
  readonly body: string;
  readonly headers: Readonly<Record<string, string | number | boolean>> | null;
}

const insertInbox = prepared<{ consumer: string }, readonly [consumer: string, messageKey: string]>(
  'INSERT INTO inbox (consumer, message_key) VALUES ($1, $2) ON CONFLICT (consumer, message_key) DO NOTHING RETURNING consumer',
);

/** Records a consumed message; false when it was already there (a redelivery or a duplicate). */
export async function recordInbox(db: MessagingDb, consumer: string, messageKey: string): Promise<boolean> {
  const { rows } = await insertInbox(db, consumer, messageKey);
  return rows.length > 0;
}

const insertInboxKeys = prepared<{ message_key: string }, readonly [consumer: string, messageKeys: readonly string[]]>(
  'INSERT INTO inbox (consumer, message_key) SELECT $1, unnest($2::text[]) ' +
    'ON CONFLICT (consumer, message_key) DO NOTHING RETURNING message_key',
);

/** Records a batch of consumed messages in one statement; returns the keys that were new. */
export async function recordInboxKeys(
  db: MessagingDb,
  consumer: string,
  messageKeys: readonly string[],
): Promise<Set<string>> {
  if (messageKeys.length === 1) {
    const [key] = messageKeys as [string];
    return (await recordInbox(db, consumer, key)) ? new Set([key]) : new Set();
  }
  const { rows } = await insertInboxKeys(db, consumer, [...new Set(messageKeys)]);
  return new Set(rows.map((row) => row.message_key));
}

const outboxColumns = 'INSERT INTO outbox (id, exchange, routing_key, body, headers, next_attempt_at) ';
const oneOutboxRow = `${outboxColumns}VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')`;
// The rows as one JSON array, so that a batch of any size is one statement text, prepared once per connection
// (and serialised by JSON.stringify, where arrays of text would be escaped element by element in JavaScript).
const outboxRows =
  `${outboxColumns}SELECT id, exchange, routing_key, body, headers, now() + $2 * interval '1 millisecond' ` +
  'FROM json_to_recordset($1::json) AS m(id uuid, exchange text, routing_key text, body text, headers jsonb)';
nameStatement(oneOutboxRow);
nameStatement(outboxRows);
const headersOf = (message: OutgoingMessage) => (message.headers === null ? null : JSON.stringify(message.headers));

/**
 * Writes outgoing messages in the caller's transaction. They are leased to this process for `leaseMs`
 * (it publishes them right after the commit), after which the relay of any instance may take them.
 * The statement is deferred: in a transaction it leaves with the COMMIT, which fails if it fails.
 */
export async function insertOutbox(
  db: MessagingDb,
  messages: readonly OutgoingMessage[],
  leaseMs: number,
): Promise<void> {
  const [first] = messages;
  if (first === undefined) return;
  const query =
    messages.length === 1
      ? CompiledQuery.raw(oneOutboxRow, [
          first.id,
          first.exchange,
          first.routingKey,
          first.body,
          headersOf(first),
          leaseMs,
        ])
      : CompiledQuery.raw(outboxRows, [
          JSON.stringify(
            messages.map(({ id, exchange, routingKey, body, headers }) => ({
              id,
              exchange,
              routing_key: routingKey,
              body,
              headers,
            })),
          ),
          leaseMs,
        ]);
  await db.executeQuery(deferred(query));
}

/**
 * Takes up to `limit` due rows for this process by moving their lease forward. SKIP LOCKED lets several
 * instances sweep at once without taking the same row; no transaction stays open while publishing.
 */
export async function claimDueOutbox(
  db: MessagingDb,
  limit: number,
  leaseMs: number,
): Promise<(OutgoingMessage & { attempts: number })[]> {
  const result = await sql<OutgoingMessage & { attempts: number }>`
    UPDATE outbox SET next_attempt_at = now() + ${leaseMs} * interval '1 millisecond', attempts = attempts + 1
    WHERE id IN (
      SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= now()
      ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED
    )
    RETURNING id, exchange, routing_key AS "routingKey", body, headers, attempts`.execute(db);
  return result.rows;
}

const markSent = prepared<never, readonly [ids: readonly string[]]>(
  'UPDATE outbox SET sent_at = now() WHERE id = ANY($1::uuid[])',
);

export async function markOutboxSent(db: MessagingDb, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await markSent(db, ids);
}

/** Notes why a publish failed and when the relay may try again. */
export async function deferOutbox(db: MessagingDb, id: string, error: string, retryInMs: number): Promise<void> {
  await db
    .updateTable('outbox')
    .set({ last_error: error, next_attempt_at: sql<Date>`now() + ${retryInMs} * interval '1 millisecond'` })
    .where('id', '=', id)
    .where('sent_at', 'is', null)
    .execute();
}

/** A message's failed attempts so far, and the reasons of the latest of them, oldest first. */
export interface AttemptRecord {
  readonly attempts: number;
  readonly reasons: readonly string[];
}

const upsertAttempt = prepared<
  AttemptRecord,
  readonly [consumer: string, messageKey: string, error: string, keep: number]
>(
  'INSERT INTO delivery_attempts AS a (consumer, message_key, attempts, last_error, reasons) ' +
    'VALUES ($1, $2, 1, $3, ARRAY[$3::text]) ON CONFLICT (consumer, message_key) DO UPDATE SET ' +
    'attempts = a.attempts + 1, last_error = $3, updated_at = now(), ' +
    'reasons = (a.reasons || $3::text)[greatest(1, cardinality(a.reasons) + 2 - $4::int):] ' +
    'RETURNING attempts, reasons',
);

/**
 * Counts one more failed attempt of a message, durably, with its reason (the latest `keepReasons` are
 * kept; `error` should already be bounded), and returns the count and the reasons.
 */
export async function recordAttempt(
  db: MessagingDb,
  consumer: string,
  messageKey: string,
  error: string,
  keepReasons = 20,
): Promise<AttemptRecord> {
  const { rows } = await upsertAttempt(db, consumer, messageKey, error, keepReasons);
  const [row] = rows as [AttemptRecord];
  return row;
}

const forgetInboxCountAttempts = prepared<
  AttemptRecord & { message_key: string },
  readonly [
    consumer: string,
    messageKeys: readonly string[],
    errors: readonly string[],
    keep: number,
    inboxKeys: readonly string[],
  ]
>(
  'WITH forgotten AS (DELETE FROM inbox WHERE consumer = $1 AND message_key = ANY($5::text[])) ' +
    'INSERT INTO delivery_attempts AS a (consumer, message_key, attempts, last_error, reasons) ' +
    'SELECT $1, t.key, 1, t.error, ARRAY[t.error] FROM unnest($2::text[], $3::text[]) AS t(key, error) ' +
    'ON CONFLICT (consumer, message_key) DO UPDATE SET ' +
    'attempts = a.attempts + 1, last_error = excluded.last_error, updated_at = now(), ' +
    'reasons = (a.reasons || excluded.last_error)[greatest(1, cardinality(a.reasons) + 2 - $4::int):] ' +
    'RETURNING message_key, attempts, reasons',
);

/**
 * For messages whose effects a transaction rolled back (to a savepoint) while it commits others: takes back
 * their inbox rows (`inboxKeys`) and counts one more failed attempt of each (`failures`: reason by attempt
 * key, the keys all different), in one statement. Returns each attempt key's count and reasons.
 */
export async function setAsideMessages(
  db: MessagingDb,
  consumer: string,
  inboxKeys: readonly string[],
  failures: ReadonlyMap<string, string>,
  keepReasons = 20,
): Promise<Map<string, AttemptRecord>> {
  const keys = [...failures.keys()];
  const { rows } = await forgetInboxCountAttempts(db, consumer, keys, [...failures.values()], keepReasons, inboxKeys);
  return new Map(rows.map(({ message_key, attempts, reasons }) => [message_key, { attempts, reasons }]));
}

export async function clearAttempts(db: MessagingDb, consumer: string, messageKey: string): Promise<void> {
  await db
    .deleteFrom('delivery_attempts')
    .where('consumer', '=', consumer)
    .where('message_key', '=', messageKey)
    .execute();
}

/**
 * Takes back attempts counted by an outage's failures (`owed`: how many, by attempt key), in one
 * statement; a count that reaches zero removes its row.
 */
export async function giveBackAttempts(
  db: MessagingDb,
  consumer: string,
  owed: ReadonlyMap<string, number>,
): Promise<void> {
  if (owed.size === 0) return;
  const keys = [...owed.keys()];
  const counts = [...owed.values()];
  await sql`
    WITH owed AS (SELECT * FROM unnest(${keys}::text[], ${counts}::int[]) AS owed(message_key, n)),
    lowered AS (
      UPDATE delivery_attempts AS a SET attempts = a.attempts - owed.n, updated_at = now()
      FROM owed WHERE a.consumer = ${consumer} AND a.message_key = owed.message_key AND a.attempts > owed.n
      RETURNING a.message_key
    )
    DELETE FROM delivery_attempts AS a USING owed
    WHERE a.consumer = ${consumer} AND a.message_key = owed.message_key AND a.attempts <= owed.n`.execute(db);
}
