/**
 * The one decoder of XState's inspection stream. Every actor of the runtime is inspected through it: it
 * turns each raw `InspectionEvent` into typed events (an actor started, its state changed, its context
 * changed, a microstep, it ended), computed once per event, and hands them to its listeners: the log, the
 * metrics and the visualizer's live monitor. None of them reads raw inspection events.
 *
 * The decoder follows each machine actor in one record, created on its first event and updated in place:
 * which machine it runs, its system id, the service and consumer it belongs to (deliveries and consumers,
 * by queue), and its positions (state and since when). Two positions, because the views differ on purpose:
 *
 * - `state`/`since`, as of the last snapshot (what the log and the metrics report: one transition per
 *   macrostep, eventless passes such as `acking` folded into it);
 * - `step`/`stepSince`, as of the last microstep (what the live view shows: every state entered, the
 *   eventless ones included, and re-entries), followed only while a listener takes microsteps.
 *
 * This runs on every step of every message: no spreads, no allocations but the record of a new actor and
 * the one event object a listener is handed, and no work for an event kind no listener takes.
 */
import type {
  ActorEnded,
  ActorStarted,
  ActorStatus,
  ContextChanged,
  Inspector,
  MachineKind,
  Microstep,
  ObservationListener,
  ObservedActor,
  ObservedConsumer,
  ObservedContext,
  StateChanged,
  TakenTransition,
} from './observation.js';
import { machineIds } from '../machines/names.js';

export interface DecoderOptions {
  /** The observed consumers by queue: deliveries and consumers are named by them. */
  readonly consumers?: ReadonlyMap<string, ObservedConsumer>;
  /** Called in this order, each event. */
  readonly listeners: readonly ObservationListener[];
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

/** A snapshot value as the log writes it: `persisting`, or `a.b` for a nested state. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([key, inner]) => `${key}.${stateName(inner)}`)
      .join(',');
  }
  return String(value);
}

/** The machine's id, or undefined for actors that are not machines (promises, callbacks). */
export function machineId(actor: object): string | undefined {
  const logic = (actor as { logic?: { id?: unknown; config?: unknown } }).logic;
  return logic?.config !== undefined && typeof logic.id === 'string' ? logic.id : undefined;
}

/** The state a machine starts in as configured: a delivery's `receiving`, left before its first snapshot. */
export function initialStateOf(actor: object): string | undefined {
  const initial = (actor as { logic?: { config?: { initial?: unknown } } }).logic?.config?.initial;
  return typeof initial === 'string' ? initial : undefined;
}

interface SnapshotLike {
  readonly value?: unknown;
  readonly status?: ActorStatus;
  readonly context?: ObservedContext;
}

const noContext: ObservedContext = Object.freeze({});
const noTransitions: readonly TakenTransition[] = Object.freeze([]);

function kindOf(machine: string): MachineKind {
  return machine === machineIds.delivery ||
    machine === machineIds.consumer ||
    machine === machineIds.connection ||
    machine === machineIds.supervisor
    ? machine
    : 'other';
}

/** The decoder's own, writable view of an actor. One class, so that every record has the same shape. */
class Followed implements ObservedActor {
  state: string | undefined = undefined;
  since = 0;
  stepSince: number;
  ended = false;

  constructor(
    readonly machine: string,
    readonly kind: MachineKind,
    readonly systemId: string | undefined,
    readonly name: string,
    readonly queue: string | undefined,
    readonly owner: ObservedConsumer | undefined,
    readonly initial: string | undefined,
    readonly startedAt: number,
    public step: string,
  ) {
    this.stepSince = startedAt;
  }
}

type Method = keyof ObservationListener;

/** The listeners that have `method`, with it bound: no call is made to a listener for a kind it ignores. */
function takers<M extends Method>(
  listeners: readonly ObservationListener[],
  method: M,
): ((event: Parameters<NonNullable<ObservationListener[M]>>[0]) => void)[] {
  type Handler = (event: Parameters<NonNullable<ObservationListener[M]>>[0]) => void;
  const bound: Handler[] = [];
  for (const listener of listeners) {
    const handler = listener[method] as Handler | undefined;
    if (handler !== undefined) bound.push(handler.bind(listener));
  }
  return bound;
}

function deliver<E>(handlers: readonly ((event: E) => void)[], event: E): void {
  for (let index = 0; index < handlers.length; index += 1) {
    try {
      handlers[index]!(event);
    } catch {
      // An observer's fault must not reach the actor whose step is being inspected.
    }
  }
}

/** The queue of a delivery (its first delivery's) or of a consumer (its context's). */
function queueOf(kind: MachineKind, context: ObservedContext): string | undefined {
  const queue =
    kind === 'delivery'
      ? (context.deliveries as readonly { readonly queue?: unknown }[] | undefined)?.[0]?.queue
      : kind === 'consumer'
        ? context.queue
        : undefined;
  return typeof queue === 'string' ? queue : undefined;
}

/** The inspection hook: one per running system, given to every actor it runs. */
export function createDecoder({
  consumers = new Map(),
  listeners,
  now = () => performance.now(),
}: DecoderOptions): Inspector {
  const actors = new WeakMap<object, Followed>();
  const onStarted = takers(listeners, 'started');
  const onChanged = takers(listeners, 'changed');
  const onUpdated = takers(listeners, 'updated');
  const onMicrostep = takers(listeners, 'microstep');
  const onEnded = takers(listeners, 'ended');
  const stepping = onMicrostep.length > 0;

  function begin(ref: object, snapshot: SnapshotLike, inMicrostep: boolean): Followed | undefined {
    const machine = machineId(ref);
    if (machine === undefined) return undefined;
    const kind = kindOf(machine);
    const context = snapshot.context ?? noContext;
    const queue = queueOf(kind, context);
    const systemId = (ref as { systemId?: unknown }).systemId;
    const initial = initialStateOf(ref);
    // First seen in a microstep: that step has already left the initial state (a delivery's eventless `receiving`).
    const startsInInitial = inMicrostep && initial !== undefined;
    const value = startsInInitial ? initial : snapshot.value;
    const state = startsInInitial ? initial : stateName(value);
    const actor = new Followed(
      machine,
      kind,
      typeof systemId === 'string' ? systemId : undefined,
      typeof systemId === 'string' ? systemId : machine,
      queue,
      queue === undefined ? undefined : consumers.get(queue),
      initial,
      now(),
      state,
    );
    actors.set(ref, actor);
    if (onStarted.length > 0) {
      deliver(onStarted, {
        type: 'started',
        actor,
        state,
        value,
        context,
        status: snapshot.status ?? 'active',
      } satisfies ActorStarted);
    }
    return actor;
  }

  function microstep(ref: object, snapshot: SnapshotLike, transitions: readonly TakenTransition[]): void {
    const actor = actors.get(ref) ?? begin(ref, snapshot, true);
    if (actor === undefined || actor.ended) return;
    const value = snapshot.value;
    const to = typeof value === 'string' ? value : stateName(value);
    const from = actor.step;
    let moved = to !== from;
    if (!moved) {
      for (let index = 0; index < transitions.length; index += 1) {
        const transition = transitions[index]!;
        if (transition.reenter && transition.target !== undefined && transition.target.length > 0) {
          moved = true;
          break;
        }
      }
    }
    let ms: number | undefined;
    if (moved) {
      const at = now();
      ms = at - actor.stepSince;
      actor.step = to;
      actor.stepSince = at;
    }
    deliver(onMicrostep, {
      type: 'microstep',
      actor,
      from,
      to,
      moved,
      ms,
      transitions,
      value,
      context: snapshot.context ?? noContext,
      status: snapshot.status ?? 'active',
    } satisfies Microstep);
  }

  function snapshotOf(ref: object, snapshot: SnapshotLike): void {
    const actor = actors.get(ref) ?? begin(ref, snapshot, false);
    if (actor === undefined || actor.ended) return;
    const value = snapshot.value;
    const to = typeof value === 'string' ? value : stateName(value);
    const context = snapshot.context ?? noContext;
    const status = snapshot.status ?? 'active';
    const from = actor.state;
    let at: number | undefined;
    if (from !== to) {
      at = now();
      const ms = from === undefined ? undefined : at - actor.since;
      actor.state = to;
      actor.since = at;
      if (onChanged.length > 0) {
        deliver(onChanged, {
          type: 'changed',
          actor,
          from: from ?? null,
          to,
          ms,
          context,
          status,
        } satisfies StateChanged);
      }
    } else if (onUpdated.length > 0) {
      deliver(onUpdated, { type: 'updated', actor, context, status } satisfies ContextChanged);
    }
    // The microsteps did not reach this state (they always do for XState's own transitions): the live view moves.
    if (stepping && actor.step !== to) {
      at ??= now();
      const left = actor.step;
      const ms = at - actor.stepSince;
      actor.step = to;
      actor.stepSince = at;
      deliver(onMicrostep, {
        type: 'microstep',
        actor,
        from: left,
        to,
        moved: true,
        ms,
        transitions: noTransitions,
        value,
        context,
        status,
      } satisfies Microstep);
    }
    if (status !== 'active') {
      actor.ended = true;
      if (onEnded.length > 0) {
        deliver(onEnded, {
          type: 'ended',
          actor,
          status,
          context,
          ms: (at ?? now()) - actor.startedAt,
        } satisfies ActorEnded);
      }
    }
  }

  return (event) => {
    if (event.type === '@xstate.snapshot') {
      snapshotOf(event.actorRef, event.snapshot as SnapshotLike);
    } else if (event.type === '@xstate.microstep' && stepping) {
      microstep(
        event.actorRef,
        event.snapshot as SnapshotLike,
        event._transitions as unknown as readonly TakenTransition[],
      );
    }
  };
}
