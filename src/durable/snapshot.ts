/**
 * The stored form of a durable instance, and its restoring: the one place that turns a row back into an
 * XState snapshot (XState v6 changes this API: `restoreActor` from `xstate/persist`).
 */
import { createActor, type AnyMachineSnapshot, type AnyStateMachine, type Snapshot, type StateValue } from 'xstate';
import { describeError } from '../policies/describe-error.js';
import { ActorStepError } from './errors.js';

/**
 * A machine's persisted snapshot (XState's `getPersistedSnapshot`), plain JSON: the instance row's
 * `snapshot` column, stored with `JSON.stringify` and given back parsed.
 *
 * @example
 * ```ts
 * { status: 'active', value: 'waiting', context: { cardId: 'c-1' }, historyValue: {}, children: {} }
 * ```
 */
export interface PersistedActorSnapshot {
  readonly status: 'active' | 'done' | 'error' | 'stopped';
  readonly value: StateValue;
  readonly context: unknown;
  readonly [key: string]: unknown;
}

/**
 * An instance as stored: its snapshot and the version of the definition that produced it.
 *
 * @example
 * ```ts
 * const stored: StoredActor = { snapshot: row.snapshot, version: row.definition_version };
 * ```
 */
export interface StoredActor {
  readonly snapshot: PersistedActorSnapshot;
  readonly version: number;
}

/** The persisted form of `snapshot`, JSON-safe. */
export function persist(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): PersistedActorSnapshot {
  return machine.getPersistedSnapshot(snapshot) as unknown as PersistedActorSnapshot;
}

/**
 * The machine snapshot of a stored instance. Restoring runs no entry action; a snapshot with children (which
 * XState would start again) is refused, as is one in a state the machine no longer has.
 */
export function restore(machine: AnyStateMachine, snapshot: PersistedActorSnapshot): AnyMachineSnapshot {
  // `output` and `error` are undefined in a stored snapshot: JSON drops them, and XState reads them as absent.
  const stored = snapshot as unknown as Snapshot<unknown>;
  const restored = createActor(machine, { snapshot: stored }).getSnapshot() as AnyMachineSnapshot;
  // XState reports a snapshot it cannot restore as a snapshot with status 'error', not by throwing.
  if (restored.status === 'error') {
    throw new ActorStepError(`the stored snapshot cannot be restored: ${describeError(restored.error)}`);
  }
  if (Object.keys(restored.children).length > 0) {
    throw new ActorStepError('the stored snapshot has child actors; durable actors have none');
  }
  return restored;
}
