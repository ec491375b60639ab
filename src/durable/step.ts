/**
 * One message applied to one durable instance, as a pure function: the stored snapshot and an event in,
 * the snapshot to store and the effects to write in the same transaction out. Nothing is executed: XState's
 * `transition()` returns the actions, and `collectEffects` reads publications and timers from them.
 *
 * A step must be deterministic: the runtime may compute it again after a rolled-back transaction, and a
 * test computes it without a clock. The time is `now`, passed in (it dates the timers); a machine must not
 * read the clock, randomness or anything outside its context and event. An event that needs the time
 * carries it.
 */
import type { AnyEventObject, AnyMachineSnapshot } from 'xstate';
import type { ActorDefinition } from '../api/actor.js';
import { collectEffects, type StepEffects } from './effects.js';
import { ActorStepError } from './errors.js';
import { jsonProblem } from './json.js';
import { pureInitialTransition, pureTransition } from './pure-transition.js';
import { persist, restore, type PersistedActorSnapshot, type StoredActor } from './snapshot.js';
import { stateOf } from './state-value.js';

/** What a step needs besides the instance and the event. */
export interface StepOptions {
  /** The step's time: timers set by the step are due this much later than it. */
  readonly now: Date;
}

/**
 * A step the instance took: what to store (`snapshot`, `version`, `state`), and what to write with it.
 * When `done`, the instance reached a final state: it is closed, and every timer it still has is removed.
 *
 * @example
 * ```ts
 * const step = stepActor(activation, stored, event, { now });
 * if (step.accepted) {
 *   await saveInstance(trx, id, step.snapshot, step.state, step.version, step.done);
 *   for (const p of step.publications) out.publish(p.destination, p.body, p.options);
 *   await cancelTimers(trx, id, step.timersToCancel); // before setting: a re-entered state sets the same id again
 *   await setTimers(trx, id, step.timersToSet);
 * }
 * ```
 */
export interface AcceptedStep extends StepEffects {
  readonly accepted: true;
  /** The instance did not exist: this step created it (its initial state's entry effects are included). */
  readonly started: boolean;
  readonly snapshot: PersistedActorSnapshot;
  /** The definition version the stored snapshot now runs (a migrated instance moves to the current one). */
  readonly version: number;
  /** The state before the step (`stateOf`), undefined when it started the instance. */
  readonly from: string | undefined;
  /** The state after the step (`stateOf`). */
  readonly state: string;
  readonly done: boolean;
}

/**
 * An event the instance does not take: no transition of its current state takes it (guards included), or
 * it is done. Nothing changed and nothing is to be written; the runtime logs, counts and applies the
 * source's `whenMissing` choice.
 *
 * @example
 * ```ts
 * { accepted: false, state: 'active', reason: "no transition of state 'active' takes 'card.activated'" }
 * ```
 */
export interface RefusedStep {
  readonly accepted: false;
  /** The current state, undefined when the instance does not exist (it would have started with this event). */
  readonly state: string | undefined;
  readonly reason: string;
}

/** The outcome of `stepActor`. */
export type ActorStep = AcceptedStep | RefusedStep;

/**
 * Applies `event` to the instance `stored` of `definition`, or starts the instance with it when `stored` is
 * undefined (the initial state's entry actions, then the event). Throws an `ActorStepError` for a step a
 * durable instance cannot take (see `collectEffects`), or a snapshot it cannot restore.
 */
export function stepActor(
  definition: ActorDefinition,
  stored: StoredActor | undefined,
  event: AnyEventObject,
  { now }: StepOptions,
): ActorStep {
  if (stored === undefined) return startStep(definition, event, now);
  const current = restore(definition.machine, migrated(definition, stored));
  const from = stateOf(current.value);
  if (current.status !== 'active') return refused(from, `the instance is ${current.status} (in state '${from}')`);
  if (!current.can(event)) return refused(from, `no transition of state '${from}' takes '${event.type}'`);
  const [next, actions] = pureTransition(definition.machine, current, event);
  const effects = collectEffects(actions, now, `on '${event.type}' in state '${from}'`);
  return accepted(definition, next, effects, from);
}

function startStep(definition: ActorDefinition, event: AnyEventObject, now: Date): ActorStep {
  const [initial, entryActions] = pureInitialTransition(definition.machine);
  const initialState = stateOf(initial.value);
  if (initial.status !== 'active' || !initial.can(event)) {
    return refused(undefined, `no transition of the initial state '${initialState}' takes '${event.type}'`);
  }
  const [next, actions] = pureTransition(definition.machine, initial, event);
  const effects = collectEffects(
    [...entryActions, ...actions],
    now,
    `on '${event.type}' starting in '${initialState}'`,
  );
  return accepted(definition, next, effects, undefined);
}

function accepted(
  definition: ActorDefinition,
  next: AnyMachineSnapshot,
  effects: StepEffects,
  from: string | undefined,
): AcceptedStep {
  const state = stateOf(next.value);
  const where = from === undefined ? `starting in state '${state}'` : `from state '${from}' to '${state}'`;
  if (next.status === 'error') throw new ActorStepError(`${where}: the machine failed: ${String(next.error)}`);
  if (Object.keys(next.children).length > 0) throw new ActorStepError(`${where}: durable actors cannot spawn actors`);
  const problem = jsonProblem(next.context, 'context');
  if (problem !== undefined) throw new ActorStepError(`${where}: the context must be plain JSON: ${problem}`);
  return {
    accepted: true,
    started: from === undefined,
    snapshot: persist(definition.machine, next),
    version: definition.version,
    from,
    state,
    done: next.status === 'done',
    ...effects,
  };
}

function refused(state: string | undefined, reason: string): RefusedStep {
  return { accepted: false, state, reason };
}

/** The stored snapshot brought to the definition's version by its `migrate`, if it has one. */
function migrated(definition: ActorDefinition, stored: StoredActor): PersistedActorSnapshot {
  if (stored.version === definition.version) return stored.snapshot;
  if (stored.version > definition.version) {
    throw new ActorStepError(
      `the instance runs version ${stored.version} of ${definition.name}, newer than this definition (version ${definition.version})`,
    );
  }
  return definition.migrate?.(stored.snapshot, stored.version) ?? stored.snapshot;
}
