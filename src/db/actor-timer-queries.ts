/**
 * Durable timers of actor instances: set and cancelled in the transaction of the transition that enters or
 * leaves a state, claimed by a firing loop when due, and taken (deleted) by the transaction that applies
 * the firing. A timer fires at most once in effect: the claim is exclusive (SKIP LOCKED), a crashed
 * claimer's claims come back after a lease, and only the transaction that deletes the row with the token it
 * was claimed with may apply it. Every time is the database's clock.
 */
import { prepared, type QueryRunner } from './prepared.js';

/** A timer to set on an instance: `event` is sent to it `delayMs` after the transaction's start. */
export interface TimerToSet {
  readonly instanceId: string;
  readonly timerId: string;
  /** JSON that jsonb accepts (see `ActorInstanceWrite.snapshot`). */
  readonly event: unknown;
  readonly delayMs: number;
}

/** One timer of one instance of the actor a call names. */
export interface TimerKey {
  readonly instanceId: string;
  readonly timerId: string;
}

/** A timer as set: its fresh token and its due time. */
export interface SetTimer extends TimerKey {
  readonly token: string;
  readonly dueAt: Date;
}

/** What a firing loop claimed: enough to apply the firing, and to take it (`takeFiredTimers`). */
export interface ClaimedTimer extends SetTimer {
  readonly actor: string;
  readonly event: unknown;
  /** How long after its due time it was claimed, by the database's clock: the firing lag. */
  readonly lateByMs: number;
}

/** What identifies one firing: the timer and the token it was claimed with. */
export type FiredTimer = Pick<ClaimedTimer, 'actor' | 'instanceId' | 'timerId' | 'token'>;

/** A pending timer as stored (for display). */
export interface StoredTimer extends SetTimer {
  readonly event: unknown;
  /** When a firing loop claimed it; null while unclaimed. */
  readonly sentAt: Date | null;
}

const upsertTimers = prepared<SetTimer, readonly [actor: string, rows: string]>(
  'INSERT INTO actor_timers (actor, instance_id, timer_id, token, event, due_at) ' +
    "SELECT $1, r.instance_id, r.timer_id, gen_random_uuid(), r.event, now() + r.delay_ms * interval '1 millisecond' " +
    'FROM json_to_recordset($2::json) AS r(instance_id text, timer_id text, event jsonb, delay_ms float8) ' +
    'ORDER BY r.instance_id, r.timer_id ON CONFLICT (actor, instance_id, timer_id) DO UPDATE SET ' +
    'token = excluded.token, event = excluded.event, due_at = excluded.due_at, sent_at = NULL ' +
    'RETURNING instance_id AS "instanceId", timer_id AS "timerId", token, due_at AS "dueAt"',
);

// Unambiguous for any two strings (the length ends at the first ':').
const keyOf = ({ instanceId, timerId }: TimerKey) => `${instanceId.length}:${instanceId}${timerId}`;

/**
 * Sets timers of instances of `actor` in one statement: a new row, or the existing timer of the same id
 * replaced (new token, event and due time, unclaimed). Of several sets of one timer in one call, the last
 * counts. Returns each timer's token and due time.
 *
 * @example
 * ```ts
 * await setTimers(trx, 'card-activation', [
 *   { instanceId: card.id, timerId: 'xstate.after.2d.waiting', event: { type: 'remind' }, delayMs: 2 * 86_400_000 },
 * ]);
 * ```
 */
export async function setTimers(db: QueryRunner, actor: string, timers: readonly TimerToSet[]): Promise<SetTimer[]> {
  if (timers.length === 0) return [];
  const latest = [...new Map(timers.map((timer) => [keyOf(timer), timer])).values()];
  const json = JSON.stringify(
    latest.map(({ instanceId, timerId, event, delayMs }) => ({
      instance_id: instanceId,
      timer_id: timerId,
      event,
      delay_ms: delayMs,
    })),
  );
  const { rows } = await upsertTimers(db, actor, json);
  return rows;
}

const deleteTimers = prepared<never, readonly [actor: string, instanceIds: string[], timerIds: string[]]>(
  'DELETE FROM actor_timers AS t USING unnest($2::text[], $3::text[]) AS c(instance_id, timer_id) ' +
    'WHERE t.actor = $1 AND t.instance_id = c.instance_id AND t.timer_id = c.timer_id',
);

/** Cancels timers of instances of `actor` (a state left); returns how many there were. */
export async function cancelTimers(db: QueryRunner, actor: string, timers: readonly TimerKey[]): Promise<number> {
  if (timers.length === 0) return 0;
  const result = await deleteTimers(
    db,
    actor,
    timers.map((timer) => timer.instanceId),
    timers.map((timer) => timer.timerId),
  );
  return Number(result.numAffectedRows ?? 0);
}

const deleteInstanceTimers = prepared<never, readonly [actor: string, instanceIds: readonly string[]]>(
  'DELETE FROM actor_timers WHERE actor = $1 AND instance_id = ANY($2::text[])',
);

/** Cancels every timer of these instances of `actor` (they reached a final state); returns how many. */
export async function cancelAllTimers(db: QueryRunner, actor: string, instanceIds: readonly string[]): Promise<number> {
  if (instanceIds.length === 0) return 0;
  const result = await deleteInstanceTimers(db, actor, instanceIds);
  return Number(result.numAffectedRows ?? 0);
}

// The outer UPDATE finds the locked rows by their physical address (a key join would scan the whole table
// under a generic plan). A row re-set after the statement's snapshot is locked at an address that snapshot
// cannot see: it is left unclaimed for the next claim, never claimed twice.
const claimTimers = prepared<ClaimedTimer, readonly [limit: number, actors: readonly string[] | null]>(
  'WITH claimed AS (UPDATE actor_timers SET sent_at = now() WHERE ctid = ANY(ARRAY(' +
    'SELECT ctid FROM actor_timers WHERE sent_at IS NULL AND due_at <= now() ' +
    'AND ($2::text[] IS NULL OR actor = ANY($2::text[])) ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED)) ' +
    'RETURNING actor, instance_id, timer_id, token, event, due_at, sent_at) ' +
    'SELECT actor, instance_id AS "instanceId", timer_id AS "timerId", token, event, due_at AS "dueAt", ' +
    'extract(epoch FROM sent_at - due_at)::float8 * 1000 AS "lateByMs" FROM claimed ORDER BY due_at',
);

/**
 * Claims up to `limit` due timers (of every actor, or of `actors` only), earliest first, by marking them
 * sent. Rows another claimer holds are skipped, so concurrent firing loops never claim the same timer. The
 * runtime commits a claim with its firing's outbox row, so a claim is never lost and never given back (a
 * firing that was dead-lettered keeps its timer claimed until it is replayed).
 *
 * @example
 * ```ts
 * const due = await claimDueTimers(db, 500);
 * // deliver each: in its transaction, lockInstances, then takeFiredTimers, then apply the ones taken
 * ```
 */
export async function claimDueTimers(
  db: QueryRunner,
  limit: number,
  actors?: readonly string[],
): Promise<ClaimedTimer[]> {
  const { rows } = await claimTimers(db, limit, actors ?? null);
  return rows;
}

const takeTimers = prepared<
  { token: string },
  readonly [actors: string[], instanceIds: string[], timerIds: string[], tokens: string[]]
>(
  'DELETE FROM actor_timers AS t USING unnest($1::text[], $2::text[], $3::text[], $4::uuid[]) ' +
    'AS f(actor, instance_id, timer_id, token) WHERE t.actor = f.actor AND t.instance_id = f.instance_id ' +
    'AND t.timer_id = f.timer_id AND t.token = f.token RETURNING t.token',
);

/**
 * In the transaction that applies firings (after `lockInstances`): deletes each fired timer if it is still
 * there with the token it was claimed with, and returns the tokens of those. A firing whose token is not
 * returned does nothing: its instance left the state (the timer was cancelled), re-entered it (a new
 * token), or another transaction applied it already.
 */
export async function takeFiredTimers(db: QueryRunner, fired: readonly FiredTimer[]): Promise<Set<string>> {
  if (fired.length === 0) return new Set();
  const { rows } = await takeTimers(
    db,
    fired.map((timer) => timer.actor),
    fired.map((timer) => timer.instanceId),
    fired.map((timer) => timer.timerId),
    fired.map((timer) => timer.token),
  );
  return new Set(rows.map((row) => row.token));
}

/** `takeFiredTimers` for one firing: true when it is to be applied. */
export async function takeFiredTimer(db: QueryRunner, fired: FiredTimer): Promise<boolean> {
  return (await takeFiredTimers(db, [fired])).has(fired.token);
}

const selectTimers = prepared<StoredTimer, readonly [actor: string, instanceId: string]>(
  'SELECT timer_id AS "timerId", instance_id AS "instanceId", token, event, due_at AS "dueAt", sent_at AS "sentAt" ' +
    'FROM actor_timers WHERE actor = $1 AND instance_id = $2 ORDER BY due_at, timer_id',
);

/** The pending timers of one instance, earliest first. */
export async function readTimers(db: QueryRunner, actor: string, instanceId: string): Promise<StoredTimer[]> {
  const { rows } = await selectTimers(db, actor, instanceId);
  return rows;
}
