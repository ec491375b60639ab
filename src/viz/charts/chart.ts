/**
 * A machine's state chart as plain data, read from the machine's own definition (its state nodes, the same
 * objects `machine.toJSON()` serialises), so that a picture drawn from it cannot drift from the code.
 *
 * `toJSON()` leaves out eventless (`always`) transitions, so the state nodes are walked directly: every
 * state (nested, parallel, final, history), every transition with its event, guard, delay and targets, the
 * actors each state invokes and the named actions it runs on entry and exit.
 *
 * A state is named by its path (`"persisting"`, `"a.b"`; the root is `""`). A transition is named by
 * `transitionKey`: its source's path, its event type and its index among the source's candidates for that
 * event. The live monitor derives the same key from the transitions XState reports while running, so
 * counts attach to the right arrow even when several transitions share an event (guarded alternatives).
 */
import type { AnyStateMachine } from 'xstate';

export type StateKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export type TransitionKind = 'event' | 'done' | 'error' | 'after' | 'always' | 'wildcard';

export interface ChartTransition {
  /** `source|eventType|index`: see `transitionKey`. */
  readonly key: string;
  readonly source: string;
  /** Paths of the target states; empty for a transition that only runs actions. */
  readonly targets: readonly string[];
  readonly eventType: string;
  readonly kind: TransitionKind;
  /** The event as a person reads it: `STOP`, `done: persist`, `error: decode`, `after retryDelay`, `always`. */
  readonly event: string;
  readonly guard: string | undefined;
  /** True for the unguarded fallback after guarded candidates of the same event. */
  readonly otherwise: boolean;
  readonly delay: string | undefined;
  readonly reenter: boolean;
  readonly actions: readonly string[];
  /** `event [guard]`. */
  readonly label: string;
}

export interface ChartState {
  readonly path: string;
  /** XState's id of the state node (`delivery.persisting`). */
  readonly id: string;
  readonly key: string;
  readonly kind: StateKind;
  readonly description: string | undefined;
  /** Path of the initial child of a compound state. */
  readonly initial: string | undefined;
  /** `src` of each invoked actor. */
  readonly invokes: readonly string[];
  readonly entry: readonly string[];
  readonly exit: readonly string[];
  readonly children: readonly ChartState[];
}

export interface Chart {
  readonly id: string;
  readonly root: ChartState;
  /** Every transition of every state, in document order. */
  readonly transitions: readonly ChartTransition[];
}

/** The parts of XState's StateNode this module reads. */
interface NodeLike {
  readonly id: string;
  readonly key: string;
  readonly type: StateKind;
  readonly path: readonly string[];
  readonly description?: string | undefined;
  readonly states: Record<string, NodeLike>;
  readonly transitions: Map<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[] | undefined;
  readonly invoke: readonly { id: string; src: unknown }[];
  readonly entry: readonly unknown[];
  readonly exit: readonly unknown[];
  readonly initial: { target: readonly NodeLike[] } | undefined;
  readonly parent?: NodeLike | undefined;
}

interface TransitionLike {
  readonly eventType: string;
  readonly target?: readonly NodeLike[] | undefined;
  readonly guard?: unknown;
  readonly delay?: unknown;
  readonly reenter?: boolean;
  readonly actions?: readonly unknown[];
}

export const rootPath = '';

export function pathOf(path: readonly string[]): string {
  return path.join('.');
}

export function transitionKey(sourcePath: string, eventType: string, index: number): string {
  return `${sourcePath}|${eventType}|${index}`;
}

/** The key of the arrow from a compound state's initial marker to its initial child. */
export function initialKey(parentPath: string): string {
  return `${parentPath}|(initial)|0`;
}

/** The name of an action, or undefined for XState's own bookkeeping (assign, raise, …) and inline functions. */
export function actionName(action: unknown): string | undefined {
  let name: unknown;
  if (typeof action === 'string') name = action;
  else if (action && (typeof action === 'object' || typeof action === 'function')) {
    name = (action as { type?: unknown }).type;
  }
  return typeof name === 'string' && name.length > 0 && !name.startsWith('xstate.') ? name : undefined;
}

export function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const inner = (guard as { guards?: unknown }).guards;
    const name = guard.name || 'guard';
    if (Array.isArray(inner)) return `${name}(${inner.map((g) => guardName(g) ?? '?').join(', ')})`;
    return name;
  }
  if (typeof guard === 'object') {
    const type = (guard as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return 'guard';
}

function delayName(delay: unknown): string | undefined {
  if (delay === undefined) return undefined;
  if (typeof delay === 'number') return `${delay} ms`;
  if (typeof delay === 'string') return /^\d+$/.test(delay) ? `${delay} ms` : delay;
  return 'delay';
}

function findInvoke(node: NodeLike, invokeId: string): string | undefined {
  for (let current: NodeLike | undefined = node; current; current = current.parent) {
    const found = current.invoke.find((invoke) => invoke.id === invokeId);
    if (found) return srcName(found.src);
  }
  return undefined;
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  const id = (src as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : 'actor';
}

function describeEvent(node: NodeLike, transition: TransitionLike): { kind: TransitionKind; event: string } {
  const type = transition.eventType;
  if (type === '') return { kind: 'always', event: 'always' };
  if (type === '*') return { kind: 'wildcard', event: 'any event' };
  const delay = delayName(transition.delay);
  if (type.startsWith('xstate.after.')) return { kind: 'after', event: `after ${delay ?? type.slice(13)}` };
  for (const [prefix, kind] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
  ] as const) {
    if (type.startsWith(prefix)) {
      const invokeId = type.slice(prefix.length);
      if (invokeId === '*') return { kind, event: `${kind}: any child` };
      return { kind, event: `${kind}: ${findInvoke(node, invokeId) ?? invokeId}` };
    }
  }
  if (type.startsWith('xstate.done.state.')) {
    let root = node;
    while (root.parent) root = root.parent;
    const stateId = type.slice('xstate.done.state.'.length);
    return {
      kind: 'done',
      event: `done: ${stateId.startsWith(`${root.id}.`) ? stateId.slice(root.id.length + 1) : stateId}`,
    };
  }
  return { kind: type.endsWith('.*') ? 'wildcard' : 'event', event: type };
}

function transitionsOf(node: NodeLike): ChartTransition[] {
  const source = pathOf(node.path);
  const groups: [string, readonly TransitionLike[]][] = [...node.transitions.entries()];
  if (node.always?.length) groups.push(['', node.always]);
  return groups.flatMap(([eventType, candidates]) =>
    candidates.map((transition, index): ChartTransition => {
      const { kind, event } = describeEvent(node, { ...transition, eventType });
      const guard = guardName(transition.guard);
      const otherwise =
        guard === undefined && index > 0 && candidates.slice(0, index).some((c) => c.guard !== undefined);
      const condition = guard ?? (otherwise ? 'else' : undefined);
      return {
        key: transitionKey(source, eventType, index),
        source,
        targets: (transition.target ?? []).map((target) => pathOf(target.path)),
        eventType,
        kind,
        event,
        guard,
        otherwise,
        delay: delayName(transition.delay),
        reenter: transition.reenter === true,
        actions: (transition.actions ?? []).map(actionName).filter((name): name is string => name !== undefined),
        label: condition ? `${event} [${condition}]` : event,
      };
    }),
  );
}

function stateOf(node: NodeLike, transitions: ChartTransition[]): ChartState {
  transitions.push(...transitionsOf(node));
  const initialTarget = node.type === 'compound' ? node.initial?.target[0] : undefined;
  return {
    path: pathOf(node.path),
    id: node.id,
    key: node.key,
    kind: node.type,
    description: node.description,
    initial: initialTarget ? pathOf(initialTarget.path) : undefined,
    invokes: node.invoke.map((invoke) => srcName(invoke.src)),
    entry: node.entry.map(actionName).filter((name): name is string => name !== undefined),
    exit: node.exit.map(actionName).filter((name): name is string => name !== undefined),
    children: Object.values(node.states).map((child) => stateOf(child, transitions)),
  };
}

/** The chart of a machine, read from its definition. */
export function chartOf(machine: AnyStateMachine): Chart {
  const transitions: ChartTransition[] = [];
  const root = stateOf(machine.root as unknown as NodeLike, transitions);
  return { id: machine.id, root, transitions };
}

/** Every state of a chart, depth first, the root first. */
export function statesOf(chart: Chart): ChartState[] {
  const all: ChartState[] = [];
  const visit = (state: ChartState) => {
    all.push(state);
    state.children.forEach(visit);
  };
  visit(chart.root);
  return all;
}

/**
 * The paths of the states a snapshot value is in, ancestors included: `"a"` gives `["a"]`, `{ a: "b" }`
 * gives `["a", "a.b"]`, a parallel `{ a: "x", b: "y" }` gives `["a", "a.x", "b", "b.y"]`.
 */
export function activePaths(value: unknown, prefix = ''): string[] {
  // Called on every step of every actor: plain loops, no closures.
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  const paths: string[] = [];
  if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.push(path, ...activePaths(inner, path));
    }
  }
  return paths;
}
