/**
 * A machine's state value as one stable string, for the instance's row, its history, `--state` filters and
 * the counts drawn on the chart: `waiting`, `card.waiting` for a nested state, and the regions of a
 * parallel state sorted and joined by commas (`review.legal.open,review.risk.done`).
 */
import type { AnyStateMachine, StateValue } from 'xstate';

/** The paths of the atomic states in `value`, sorted: `['review.legal.open', 'review.risk.done']`. */
export function statePaths(value: StateValue): string[] {
  return pathsUnder(value, []).sort();
}

/** The state value as one string: `statePaths` joined by commas. */
export function stateOf(value: StateValue): string {
  return statePaths(value).join(',');
}

function pathsUnder(value: StateValue, prefix: readonly string[]): string[] {
  if (typeof value === 'string') return [[...prefix, value].join('.')];
  const entries = Object.entries(value).filter(([, child]) => child !== undefined);
  if (entries.length === 0) return prefix.length > 0 ? [prefix.join('.')] : [];
  return entries.flatMap(([key, child]) => pathsUnder(child as StateValue, [...prefix, key]));
}

/**
 * The states among `states` (each a `stateOf` string) that `machine` does not have: what the runtime checks
 * at start-up for the persisted instances of a definition.
 *
 * @example
 * ```ts
 * unknownStates(cardActivationMachine, ['waiting', 'reminded', 'escalated']); // ['escalated']
 * ```
 */
export function unknownStates(machine: AnyStateMachine, states: readonly string[]): string[] {
  return states.filter((state) => state.split(',').some((path) => !hasStatePath(machine, path)));
}

function hasStatePath(machine: AnyStateMachine, path: string): boolean {
  let node: { readonly states: Readonly<Record<string, unknown>> } | undefined = machine.root;
  for (const key of path.split('.')) {
    const child: unknown = node?.states[key];
    if (child === undefined) return false;
    node = child as { readonly states: Readonly<Record<string, unknown>> };
  }
  return path.length > 0;
}
