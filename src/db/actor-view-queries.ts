/**
 * What the command line, the live view, the metrics and the start-up version check read of actor instances:
 * lists and counts, never on a delivery's path.
 */
import type { ActorInstance } from './actor-instance-queries.js';
import type { ActorStatus } from './actor-schema.js';
import { prepared, type PreparedQuery, type QueryRunner } from './prepared.js';

/** An instance without its snapshot, as lists show it. */
export type ActorInstanceSummary = Omit<ActorInstance, 'snapshot'>;

/** Which instances a list shows. */
export interface ListInstancesOptions {
  /** Only instances in this state. */
  readonly state?: string;
  /** At most this many (default 100). */
  readonly limit?: number;
  /** By creation time: `newest` first (the default) or `oldest` first. */
  readonly order?: 'newest' | 'oldest';
}

const summaryColumns =
  'SELECT actor, instance_id AS "instanceId", state, row_version AS "rowVersion", ' +
  'definition_version AS "definitionVersion", status, created_at AS "createdAt", updated_at AS "updatedAt", ' +
  'closed_at AS "closedAt" FROM actor_instances WHERE actor = $1 ';

type ListParams = readonly [actor: string, limit: number, state?: string];
const listStatement = (inState: boolean, direction: 'DESC' | 'ASC') =>
  prepared<ActorInstanceSummary, ListParams>(
    `${summaryColumns}${inState ? 'AND state = $3 ' : ''}` +
      `ORDER BY created_at ${direction}, instance_id ${direction} LIMIT $2`,
  );
const listStatements: Readonly<Record<string, PreparedQuery<ActorInstanceSummary, ListParams>>> = {
  'all newest': listStatement(false, 'DESC'),
  'all oldest': listStatement(false, 'ASC'),
  'state newest': listStatement(true, 'DESC'),
  'state oldest': listStatement(true, 'ASC'),
};

/**
 * Instances of `actor`, optionally in one state, by creation time.
 *
 * @example
 * ```ts
 * const waiting = await listInstances(db, 'card-activation', { state: 'waiting', limit: 20 });
 * ```
 */
export async function listInstances(
  db: QueryRunner,
  actor: string,
  { state, limit = 100, order = 'newest' }: ListInstancesOptions = {},
): Promise<ActorInstanceSummary[]> {
  const statement = listStatements[`${state === undefined ? 'all' : 'state'} ${order}`]!;
  const { rows } = await (state === undefined ? statement(db, actor, limit) : statement(db, actor, limit, state));
  return rows;
}

/** How many instances of one actor are in one state. */
export interface StateCount {
  readonly actor: string;
  readonly state: string;
  readonly count: number;
}

const countAll = prepared<StateCount, readonly []>(
  'SELECT actor, state, count(*)::int AS count FROM actor_instances GROUP BY actor, state ORDER BY actor, state',
);
const countOne = prepared<StateCount, readonly [actor: string]>(
  'SELECT actor, state, count(*)::int AS count FROM actor_instances WHERE actor = $1 GROUP BY actor, state ORDER BY state',
);

/**
 * Instances by actor and state (closed ones are counted in their final state), for the metrics and the live
 * view: of every actor, or of `actor` only. A full count: on millions of instances, poll it seldom.
 */
export async function countInstancesByState(db: QueryRunner, actor?: string): Promise<StateCount[]> {
  const { rows } = await (actor === undefined ? countAll(db) : countOne(db, actor));
  return rows;
}

/** How many instances of one actor run one definition version in one state. */
export interface VersionStateCount {
  readonly definitionVersion: number;
  readonly state: string;
  readonly status: ActorStatus;
  readonly count: number;
}

const countVersions = prepared<VersionStateCount, readonly [actor: string]>(
  'SELECT definition_version AS "definitionVersion", state, status, count(*)::int AS count FROM actor_instances ' +
    'WHERE actor = $1 GROUP BY definition_version, state, status ORDER BY definition_version, state, status',
);

/**
 * Instances of `actor` by definition version, state and status: what the start-up check compares with the
 * deployed definition's states.
 */
export async function countInstancesByVersion(db: QueryRunner, actor: string): Promise<VersionStateCount[]> {
  const { rows } = await countVersions(db, actor);
  return rows;
}
