/**
 * The durable actors' tables, which the runtime keeps in every service database beside the inbox and the
 * outbox (created by `migrations/actors.ts`). Every row belongs to one actor definition (`actor`, its name)
 * and one of its instances (`instance_id`, the correlation id).
 */
import type { ColumnType, Kysely } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A jsonb column: read as the parsed value, written as JSON text. */
type Jsonb = ColumnType<unknown, string, string>;

/** `active` until the machine reaches a final state, `done` (closed) after. */
export type ActorStatus = 'active' | 'done';

/** One instance of an actor definition: its persisted XState snapshot and where it stands. */
export interface ActorInstancesTable {
  actor: string;
  instance_id: string;
  /** The state value as one string (`'waiting'`, `'payment.pending'`): what counts and lists group by. */
  state: string;
  /** `actor.getPersistedSnapshot()`, as jsonb. */
  snapshot: Jsonb;
  /** 1 when inserted, one more at every update: the optimistic check compares it. */
  row_version: ColumnType<number, number | undefined, number>;
  /** The version of the definition the instance runs. */
  definition_version: number;
  status: ColumnType<ActorStatus, ActorStatus | undefined, ActorStatus>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** When the instance reached a final state; null while it is active. */
  closed_at: NullableTimestamp;
}

/** A durable timer (an `after` delay or a delayed send) of one instance, fired by the runtime at `due_at`. */
export interface ActorTimersTable {
  actor: string;
  instance_id: string;
  /** The timer's id in the machine (XState's delayed event id). */
  timer_id: string;
  /** New at every set: a firing that carries an older token finds the state was left (and perhaps re-entered). */
  token: ColumnType<string, string | undefined, string>;
  /** The event to send to the instance when the timer fires. */
  event: Jsonb;
  due_at: Timestamp;
  /** When a firing loop claimed the timer; null while nobody has. */
  sent_at: NullableTimestamp;
}

/** One transition of one instance. */
export interface ActorHistoryTable {
  /** bigint: read as a string. */
  id: ColumnType<string, never, never>;
  actor: string;
  instance_id: string;
  event_type: string;
  /** Null for the transition that created the instance. */
  from_state: string | null;
  to_state: string;
  at: CreatedAt;
  /** The delivery that caused the transition (null for one with no message, such as a timer of the runtime's). */
  message_id: string | null;
  /** The ids of the messages the transition published. */
  published: ColumnType<string[], string[] | undefined, string[]>;
}

/** The durable actors' tables, as Kysely sees them. */
export interface ActorTables {
  actor_instances: ActorInstancesTable;
  actor_timers: ActorTimersTable;
  actor_history: ActorHistoryTable;
}

/** A database typed with the actors' tables only. */
export type ActorDb = Kysely<ActorTables>;

/**
 * Any service database, seen through the actors' tables: every service database holds them once the runtime
 * has migrated it, whatever else its type declares.
 */
export function actorTablesOf<DB>(db: Kysely<DB>): ActorDb {
  return db as unknown as ActorDb;
}
