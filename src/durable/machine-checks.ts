/**
 * What a machine must not do to be a durable actor, checked once when the actor is defined.
 *
 * Invocations are refused: XState starts an invoked actor again each time a persisted snapshot is
 * restored (a `fromPromise` runs again), and a durable instance is restored for every event it receives,
 * so the invoked work would run once per event instead of once. Work outside the machine belongs to
 * consumers: the machine publishes a message and receives the answer as an event.
 */
import type { AnyStateMachine } from 'xstate';

interface NodeLike {
  readonly id: string;
  readonly invoke: readonly unknown[];
  readonly states: Readonly<Record<string, NodeLike>>;
}

/** The ids of the states of `machine` that invoke actors: empty for a machine fit to be durable. */
export function invokingStates(machine: AnyStateMachine): string[] {
  return nodesUnder(machine.root as NodeLike)
    .filter((node) => node.invoke.length > 0)
    .map((node) => node.id);
}

function nodesUnder(node: NodeLike): NodeLike[] {
  return [node, ...Object.values(node.states).flatMap(nodesUnder)];
}

/** Why `machine` cannot be a durable actor, or undefined when it can. */
export function machineProblem(machine: unknown): string | undefined {
  if (!isStateMachine(machine)) return 'machine must be an XState machine (setup().createMachine(...))';
  const invoking = invokingStates(machine);
  if (invoking.length === 0) return undefined;
  return (
    `machine ${machine.id} invokes actors in ${invoking.map((id) => `'${id}'`).join(', ')}: XState starts them ` +
    'again whenever a stored snapshot is restored, so durable actors cannot invoke; publish a message and ' +
    'receive the answer as an event instead'
  );
}

function isStateMachine(value: unknown): value is AnyStateMachine {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<AnyStateMachine>;
  return typeof candidate.transition === 'function' && typeof candidate.root === 'object';
}
