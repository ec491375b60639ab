/**
 * The statements that load, lock, create and update actor instances: one statement for a whole batch of
 * deliveries, on any Kysely database or transaction (see `prepared.ts`). Rows are passed as one JSON array
 * (`json_to_recordset`), so that a snapshot travels as JSON once, not as a string inside an array literal.
 */
import type { ActorStatus } from './actor-schema.js';
import { prepared, type QueryRunner } from './prepared.js';

/** One instance as stored. */
export interface ActorInstance {
  readonly actor: string;
  readonly instanceId: string;
  /** The state value as one string. */
  readonly state: string;
  /** The persisted XState snapshot (JSON). */
  readonly snapshot: unknown;
  /** 1 when created, one more at every update. */
  readonly rowVersion: number;
  readonly definitionVersion: number;
  readonly status: ActorStatus;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When the instance reached a final state; null while it is active. */
  readonly closedAt: Date | null;
}

/**
 * What a transition leaves of an instance: the row to write. `snapshot` must be JSON that jsonb accepts
 * (no `\u0000`, no lone surrogates): otherwise the statement, and the transaction, fail.
 */
export interface ActorInstanceWrite {
  readonly instanceId: string;
  readonly state: string;
  readonly snapshot: unknown;
  readonly definitionVersion: number;
  /** `done` closes the instance (`closed_at` is set once, when it first becomes done). */
  readonly status: ActorStatus;
}

/** An update that applies only if the row is still at `expectedRowVersion` (the optimistic check). */
export interface ActorInstanceCheckedWrite extends ActorInstanceWrite {
  readonly expectedRowVersion: number;
}

/** What an optimistic update did: the rows it updated and the ones it left because they had changed. */
export interface CheckedUpdateResult {
  /** New `rowVersion` by instance id. */
  readonly updated: Map<string, number>;
  /** Ids whose row was changed (or removed) since it was read: nothing was written for them. */
  readonly conflicts: string[];
}

const instanceColumns =
  'actor, instance_id AS "instanceId", state, snapshot, row_version AS "rowVersion", ' +
  'definition_version AS "definitionVersion", status, created_at AS "createdAt", updated_at AS "updatedAt", ' +
  'closed_at AS "closedAt"';
const byIds = 'FROM actor_instances WHERE actor = $1 AND instance_id = ANY($2::text[]) ORDER BY instance_id';

type IdsParams = readonly [actor: string, instanceIds: readonly string[]];
const selectInstances = prepared<ActorInstance, IdsParams>(`SELECT ${instanceColumns} ${byIds}`);
// The rows are locked as they leave the sort (PostgreSQL locks after ORDER BY): in instance id order, whatever
// order the caller gave, so two transactions locking overlapping sets wait for each other instead of deadlocking.
const lockSelectInstances = prepared<ActorInstance, IdsParams>(`SELECT ${instanceColumns} ${byIds} FOR UPDATE`);

const toMap = (rows: readonly ActorInstance[]) => new Map(rows.map((row) => [row.instanceId, row]));

/**
 * Locks the instances of `actor` with these ids until the transaction ends, and returns them by id (ids
 * without a row are absent from the map). Run it once per transaction, with all the ids the transaction
 * will touch: two calls in one transaction take their locks out of order, and can deadlock with another.
 *
 * @example
 * ```ts
 * await db.transaction().execute(async (trx) => {
 *   const instances = await lockInstances(trx, 'card-activation', deliveries.map((d) => d.instanceId));
 *   const missing = ids.filter((id) => !instances.has(id)); // to start, ignore or dead-letter
 * });
 * ```
 */
export async function lockInstances(
  db: QueryRunner,
  actor: string,
  instanceIds: readonly string[],
): Promise<Map<string, ActorInstance>> {
  if (instanceIds.length === 0) return new Map();
  const { rows } = await lockSelectInstances(db, actor, instanceIds);
  return toMap(rows);
}

/** Reads instances of `actor` by id without locking them (for the optimistic path, and for display). */
export async function readInstances(
  db: QueryRunner,
  actor: string,
  instanceIds: readonly string[],
): Promise<Map<string, ActorInstance>> {
  if (instanceIds.length === 0) return new Map();
  const { rows } = await selectInstances(db, actor, instanceIds);
  return toMap(rows);
}

/** One instance of `actor`, or undefined. */
export async function readInstance(
  db: QueryRunner,
  actor: string,
  instanceId: string,
): Promise<ActorInstance | undefined> {
  return (await readInstances(db, actor, [instanceId])).get(instanceId);
}

// Inserted in id order, like the locks: two transactions starting overlapping sets wait on each other's keys
// in the same order. A key another transaction inserted first is skipped once that one commits.
const insertRows = prepared<{ instance_id: string }, readonly [actor: string, rows: string]>(
  'INSERT INTO actor_instances (actor, instance_id, state, snapshot, definition_version, status, closed_at) ' +
    "SELECT $1, r.instance_id, r.state, r.snapshot, r.definition_version, r.status, CASE WHEN r.status = 'done' THEN now() END " +
    'FROM json_to_recordset($2::json) AS r(instance_id text, state text, snapshot jsonb, definition_version int, status text) ' +
    'ORDER BY r.instance_id ON CONFLICT (actor, instance_id) DO NOTHING RETURNING instance_id',
);

function assertDistinct(rows: readonly { instanceId: string }[], what: string): void {
  if (new Set(rows.map((row) => row.instanceId)).size !== rows.length) {
    throw new Error(`${what}: the instance ids of one call must all be different`);
  }
}

const writeRow = ({ instanceId, state, snapshot, definitionVersion, status }: ActorInstanceWrite) => ({
  instance_id: instanceId,
  state,
  snapshot,
  definition_version: definitionVersion,
  status,
});

/**
 * Creates instances of `actor` (at row version 1) in one statement and returns the ids it created. An id
 * that already exists is left as it is and not returned: a duplicate start, or one that a concurrent
 * transaction won (this call waits for it to commit); lock and load those instead.
 *
 * @example
 * ```ts
 * const created = await insertInstances(trx, 'card-activation', [
 *   { instanceId: card.id, state: 'waiting', snapshot, definitionVersion: 1, status: 'active' },
 * ]);
 * ```
 */
export async function insertInstances(
  db: QueryRunner,
  actor: string,
  instances: readonly ActorInstanceWrite[],
): Promise<Set<string>> {
  if (instances.length === 0) return new Set();
  assertDistinct(instances, 'insertInstances');
  const { rows } = await insertRows(db, actor, JSON.stringify(instances.map(writeRow)));
  return new Set(rows.map((row) => row.instance_id));
}

// The target rows are locked first, in id order (the materialized CTE), so that an update that runs without
// `lockInstances` cannot deadlock either. A row changed by a transaction that committed meanwhile is checked
// again at its latest version (READ COMMITTED's recheck): the optimistic test sees the concurrent change.
const updateRows = prepared<{ instanceId: string; rowVersion: number }, readonly [actor: string, rows: string]>(
  'WITH u AS (SELECT * FROM json_to_recordset($2::json) AS u(instance_id text, state text, snapshot jsonb, ' +
    'definition_version int, status text, expected_row_version int)), ' +
    'locked AS MATERIALIZED (SELECT instance_id FROM actor_instances WHERE actor = $1 ' +
    'AND instance_id IN (SELECT instance_id FROM u) ORDER BY instance_id FOR UPDATE) ' +
    'UPDATE actor_instances AS i SET state = u.state, snapshot = u.snapshot, ' +
    'definition_version = u.definition_version, status = u.status, row_version = i.row_version + 1, ' +
    "updated_at = now(), closed_at = CASE WHEN u.status = 'done' THEN coalesce(i.closed_at, now()) END " +
    'FROM u JOIN locked USING (instance_id) WHERE i.actor = $1 AND i.instance_id = u.instance_id ' +
    'AND (u.expected_row_version IS NULL OR i.row_version = u.expected_row_version) ' +
    'RETURNING i.instance_id AS "instanceId", i.row_version AS "rowVersion"',
);

async function runUpdate(
  db: QueryRunner,
  actor: string,
  rows: readonly (ActorInstanceWrite & { expectedRowVersion: number | null })[],
): Promise<Map<string, number>> {
  const json = JSON.stringify(rows.map((row) => ({ ...writeRow(row), expected_row_version: row.expectedRowVersion })));
  const { rows: updated } = await updateRows(db, actor, json);
  return new Map(updated.map((row) => [row.instanceId, row.rowVersion]));
}

/**
 * Writes instances of `actor` locked by this transaction (`lockInstances`), each with its row version one
 * higher, in one statement. Returns the new row version by id; an id without a row is absent.
 */
export async function updateInstances(
  db: QueryRunner,
  actor: string,
  instances: readonly ActorInstanceWrite[],
): Promise<Map<string, number>> {
  if (instances.length === 0) return new Map();
  assertDistinct(instances, 'updateInstances');
  return runUpdate(
    db,
    actor,
    instances.map((instance) => ({ ...instance, expectedRowVersion: null })),
  );
}

/**
 * The optimistic update: writes each instance only if its row is still at `expectedRowVersion` (as read by
 * `readInstances`, without a lock), in one statement, and reports the others as conflicts to retry.
 *
 * @example
 * ```ts
 * const { conflicts } = await updateInstancesIfUnchanged(trx, 'card-activation', [
 *   { ...next, expectedRowVersion: read.rowVersion },
 * ]);
 * // conflicts: changed by another process since they were read; roll back, read again and retry them
 * ```
 */
export async function updateInstancesIfUnchanged(
  db: QueryRunner,
  actor: string,
  instances: readonly ActorInstanceCheckedWrite[],
): Promise<CheckedUpdateResult> {
  if (instances.length === 0) return { updated: new Map(), conflicts: [] };
  assertDistinct(instances, 'updateInstancesIfUnchanged');
  const updated = await runUpdate(db, actor, instances);
  const conflicts = instances.filter((instance) => !updated.has(instance.instanceId)).map((each) => each.instanceId);
  return { updated, conflicts };
}
