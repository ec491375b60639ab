/**
 * XState's pure `transition()` and `initialTransition()`, without their cost per call: each of those makes
 * an inert actor (and its system) to transition in, about 30 µs, more than the rest of a durable step
 * together. Here that scope is made once per machine and only the list the actions are collected into is
 * new per call. A durable machine spawns nothing and runs no action (they are collected, not executed),
 * so nothing is left in the shared scope from one call to the next. The initial snapshot of a machine
 * (no input) is the same every time: it is computed once.
 */
import {
  createActor,
  type AnyActorScope,
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type ExecutableActionsFrom,
} from 'xstate';

type Actions = ExecutableActionsFrom<AnyStateMachine>[];

interface PureScope {
  readonly scope: AnyActorScope;
  collected: Actions;
  initial: readonly [AnyMachineSnapshot, Actions] | undefined;
}

const scopes = new WeakMap<AnyStateMachine, PureScope>();

function scopeOf(machine: AnyStateMachine): PureScope {
  let pure = scopes.get(machine);
  if (pure !== undefined) return pure;
  const self = createActor(machine);
  const created: PureScope = {
    collected: [],
    initial: undefined,
    scope: {
      self,
      defer: () => {},
      id: '',
      logger: () => {},
      sessionId: '',
      stopChild: () => {},
      system: self.system,
      emit: () => {},
      actionExecutor: (action: unknown) =>
        void created.collected.push(action as ExecutableActionsFrom<AnyStateMachine>),
    } as unknown as AnyActorScope,
  };
  scopes.set(machine, created);
  pure = created;
  return pure;
}

/** `transition(machine, snapshot, event)`: the next snapshot and the actions it would run, none run. */
export function pureTransition(
  machine: AnyStateMachine,
  snapshot: AnyMachineSnapshot,
  event: AnyEventObject,
): [AnyMachineSnapshot, Actions] {
  const pure = scopeOf(machine);
  const collected: Actions = [];
  pure.collected = collected;
  const next = machine.transition(snapshot, event, pure.scope) as AnyMachineSnapshot;
  return [next, collected];
}

/** `initialTransition(machine)`: the initial snapshot and its entry actions, computed once per machine. */
export function pureInitialTransition(machine: AnyStateMachine): readonly [AnyMachineSnapshot, Actions] {
  const pure = scopeOf(machine);
  if (pure.initial === undefined) {
    const collected: Actions = [];
    pure.collected = collected;
    pure.initial = [machine.getInitialSnapshot(pure.scope) as AnyMachineSnapshot, collected];
  }
  return pure.initial;
}
