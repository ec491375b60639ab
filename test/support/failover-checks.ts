/**
 * What the database failover tests read from, and do to, one server of the test pair: deliveries held in
 * flight by a lock, row counts, the cards of a set of users, attempts left counted, the consumers' breaker
 * in the log.
 */
import type { ExecutionContext } from 'ava';
import pg from 'pg';
import { query } from './environment.js';
import type { ServiceProcess } from './service-process.js';
import { waitUntil } from './wait.js';

/**
 * Locks a table from a session of its own until that session ends (the server's death ends it), and waits
 * until a transaction of the services waits on the lock: their deliveries are then in flight, in
 * `persisting`, whatever the timing of the traffic.
 */
export async function holdDeliveriesOn(t: ExecutionContext, url: string, table: string): Promise<void> {
  const holder = new pg.Client({ connectionString: url });
  holder.on('error', () => {});
  await holder.connect();
  // Not awaited: on a dead server end() has nothing to wait for, and the teardown must not hang on it.
  t.teardown(() => void holder.end().catch(() => {}));
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE ${pg.escapeIdentifier(table)} IN ACCESS EXCLUSIVE MODE`);
  const database = new URL(url).pathname.slice(1);
  await waitUntil(
    async () => {
      const [row] = await query<{ n: string }>(
        url,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
        [database],
      );
      return Number(row!.n) > 0;
    },
    { what: `a delivery waiting on the lock on ${table} in ${database}` },
  );
}

export async function countRows(url: string, table: string): Promise<number> {
  const [row] = await query<{ n: string }>(url, `SELECT count(*) AS n FROM ${pg.escapeIdentifier(table)}`);
  return Number(row!.n);
}

/** The ids among `ids` that a database's `users` table holds. */
export async function usersPresent(url: string, ids: readonly string[]): Promise<Set<string>> {
  const rows = await query<{ id: string }>(url, 'SELECT id FROM users WHERE id = ANY($1::uuid[])', [ids]);
  return new Set(rows.map((row) => row.id));
}

/** How many of `ids` have a card in a database's `cards` table. */
export async function cardsOf(url: string, ids: readonly string[]): Promise<number> {
  const [row] = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM cards WHERE user_id = ANY($1::uuid[])', [
    ids,
  ]);
  return Number(row!.n);
}

/**
 * Waits until every user of `ids` has its card stored in the user service and no outbox row of either
 * database is unsent: nothing of theirs is in flight any more.
 */
export async function waitSettled(userDbUrl: string, cardDbUrl: string, ids: readonly string[]): Promise<void> {
  await waitUntil(
    async () => {
      const unsent = await Promise.all(
        [userDbUrl, cardDbUrl].map((url) => query(url, 'SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT 1')),
      );
      return (await cardsOf(userDbUrl, ids)) === ids.length && unsent.every((rows) => rows.length === 0);
    },
    { timeoutMs: 120_000, what: `the cards of ${ids.length} users stored and both outboxes sent` },
  );
}

/** Attempt counts left in `delivery_attempts` (the breaker's probe key aside). */
export async function attemptsLeft(url: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    url,
    "SELECT count(*) AS n FROM delivery_attempts WHERE message_key <> 'ackstate:probe'",
  );
  return Number(row!.n);
}

/**
 * The consumer machine's states after a log position: whether it paused, and whether it consumed again
 * after its last pause (a half-open breaker closes only once a trial delivery passed).
 */
export function breakerSince(
  service: ServiceProcess,
  from: number,
): { paused: boolean; resumed: boolean; states: string[] } {
  const states = service.logs
    .slice(from)
    .filter((line) => line.message === 'transition' && line.machine === 'consumer')
    .map((line) => String(line.to));
  const lastPause = states.lastIndexOf('paused');
  return {
    paused: lastPause !== -1,
    resumed: lastPause !== -1 && states.slice(lastPause).includes('consuming'),
    states,
  };
}

/** The consumer's breaker states after a log position, each with its time since `since` (ms since the epoch). */
export function breakerTimeline(service: ServiceProcess, from: number, since: number): string {
  const steps = service.logs
    .slice(from)
    .filter((line) => line.message === 'transition' && line.machine === 'consumer')
    .filter((line) => ['paused', 'halfOpen', 'consuming'].includes(String(line.to)))
    .map((line) => `${String(line.to)} +${((Date.parse(String(line.timestamp)) - since) / 1_000).toFixed(1)} s`);
  return steps.length === 0 ? 'never paused' : steps.join(', ');
}

export function deadLetteringLines(service: ServiceProcess) {
  return service.logs.filter((line) => line.machine === 'delivery' && line.to === 'deadLettering');
}

/** Polls until `probe` holds and returns when it first did (within the polling interval). */
export async function timeWhen(probe: () => Promise<boolean>, what: string): Promise<number> {
  await waitUntil(probe, { timeoutMs: 120_000, intervalMs: 50, what });
  return Date.now();
}

/** Sessions of the server waiting on `event` (`SyncRep`: commits waiting for the standby). */
export async function sessionsWaitingFor(url: string, event: string): Promise<number> {
  const [row] = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event = $1', [
    event,
  ]);
  return Number(row!.n);
}
