/** The history of actor instances: one row per transition, appended in its transaction, read in order. */
import { CompiledQuery } from 'kysely';
import { deferred, nameStatement } from './pipelined-driver.js';
import { prepared, type QueryRunner } from './prepared.js';

/** A transition to record. */
export interface TransitionRecord {
  readonly instanceId: string;
  readonly eventType: string;
  /** Null for the transition that created the instance. */
  readonly fromState: string | null;
  readonly toState: string;
  /** The delivery's message id, if the transition had one. */
  readonly messageId: string | null;
  /** The ids of the messages the transition published (outbox ids). */
  readonly published: readonly string[];
}

/** A recorded transition. */
export interface ActorTransition extends TransitionRecord {
  /** The row's id (bigint, as text): increasing in the order transitions were recorded. */
  readonly id: string;
  readonly actor: string;
  readonly at: Date;
  readonly published: string[];
}

// In the order given (ORDINALITY), so that ids follow the order of the transitions of one instance.
const insertHistory =
  'INSERT INTO actor_history (actor, instance_id, event_type, from_state, to_state, message_id, published) ' +
  "SELECT $1, r.instance_id, r.event_type, r.from_state, r.to_state, r.message_id, coalesce(r.published, '{}') " +
  'FROM ROWS FROM (json_to_recordset($2::json) AS (instance_id text, event_type text, from_state text, ' +
  'to_state text, message_id text, published text[])) WITH ORDINALITY ' +
  'AS r(instance_id, event_type, from_state, to_state, message_id, published, n) ORDER BY r.n';
nameStatement(insertHistory);

/**
 * Records transitions of instances of `actor`, in the order given, in one statement. The statement is
 * deferred (as the outbox's): in a transaction it leaves with the next statement, usually the COMMIT, which
 * fails if it fails.
 *
 * @example
 * ```ts
 * await appendHistory(trx, 'card-activation', [
 *   { instanceId: card.id, eventType: 'card.issued', fromState: null, toState: 'waiting', messageId, published: [] },
 * ]);
 * ```
 */
export async function appendHistory(
  db: QueryRunner,
  actor: string,
  transitions: readonly TransitionRecord[],
): Promise<void> {
  if (transitions.length === 0) return;
  const json = JSON.stringify(
    transitions.map(({ instanceId, eventType, fromState, toState, messageId, published }) => ({
      instance_id: instanceId,
      event_type: eventType,
      from_state: fromState,
      to_state: toState,
      message_id: messageId,
      published,
    })),
  );
  await db.executeQuery(deferred(CompiledQuery.raw(insertHistory, [actor, json])));
}

const selectHistory = prepared<
  ActorTransition,
  readonly [actor: string, instanceId: string, afterId: string, limit: number]
>(
  'SELECT id::text AS id, actor, instance_id AS "instanceId", event_type AS "eventType", from_state AS "fromState", ' +
    'to_state AS "toState", at, message_id AS "messageId", published FROM actor_history ' +
    'WHERE actor = $1 AND instance_id = $2 AND id > $3::bigint ORDER BY id LIMIT $4',
);

/** Where a history read starts and how much it returns. */
export interface HistoryPage {
  /** Only transitions recorded after this id (the last id of the previous page). */
  readonly afterId?: string;
  /** At most this many (default 1,000). */
  readonly limit?: number;
}

/** One instance's transitions in the order they were recorded (retention may have removed the oldest). */
export async function readHistory(
  db: QueryRunner,
  actor: string,
  instanceId: string,
  { afterId = '0', limit = 1_000 }: HistoryPage = {},
): Promise<ActorTransition[]> {
  const { rows } = await selectHistory(db, actor, instanceId, afterId, limit);
  return rows;
}
