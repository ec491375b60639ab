/**
 * What the decoder hands its listeners (the log writer, the metrics, the live view, the delivery spans):
 * the actors it follows and the events it makes of XState's inspection stream, one vocabulary for all.
 */
import type { InspectionEvent } from 'xstate';
import type { MachineId } from '../machines/names.js';

/** What a consumed queue's human-readable log lines say when a delivery starts and when it is acked. */
export interface DeliveryDescriber {
  received(message: unknown): string;
  completed(message: unknown, result: unknown): string;
}

/** A consumer as everything that observes names it. */
export interface ObservedConsumer {
  /** The service's name. */
  readonly service: string;
  /** The consumer's name (unique within its service; often the queue). */
  readonly consumer: string;
  readonly queue: string;
  readonly describe: DeliveryDescriber;
}

/** Given to `createActor({ inspect })`. */
export type Inspector = (event: InspectionEvent) => void;

/** The machines whose actors the listeners tell apart; any other machine is `other`. */
export type MachineKind = Extract<MachineId, 'delivery' | 'consumer' | 'connection' | 'supervisor'> | 'other';

export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

export type ObservedContext = Readonly<Record<string, unknown>>;

/** One machine actor as the decoder follows it: the same object in every event about that actor. */
export interface ObservedActor {
  /** The machine's id (`delivery`, `consumer`, …). */
  readonly machine: string;
  readonly kind: MachineKind;
  readonly systemId: string | undefined;
  /** The system id, or the machine id when there is none. */
  readonly name: string;
  /** Deliveries (their first delivery's queue) and consumers (`context.queue`). */
  readonly queue: string | undefined;
  /** The consumer of `queue`, when it is one of those observed. */
  readonly owner: ObservedConsumer | undefined;
  /** The machine's configured initial state, when it is a plain state name. */
  readonly initial: string | undefined;
  /** Clock milliseconds when the decoder first saw the actor. */
  readonly startedAt: number;
  /** The state as of the last snapshot; undefined before the first one. */
  readonly state: string | undefined;
  /** Clock milliseconds when `state` was entered. */
  readonly since: number;
  /**
   * The state as of the last microstep (or snapshot, when that is later). Followed only while a listener
   * takes microsteps; otherwise it stays where the actor started.
   */
  readonly step: string;
  /** Clock milliseconds when `step` was entered (or re-entered). */
  readonly stepSince: number;
  readonly ended: boolean;
}

/** The parts of XState's transition definitions the live view reads from a microstep. */
export interface TakenTransition {
  readonly eventType: string;
  readonly reenter?: boolean;
  readonly target?: readonly { path: readonly string[] }[];
  readonly source: {
    readonly path: readonly string[];
    readonly transitions: Map<string, readonly unknown[]>;
    readonly always?: readonly unknown[];
  };
}

/** The decoder saw a machine actor for the first time (its first microstep, or its first snapshot). */
export interface ActorStarted {
  readonly type: 'started';
  readonly actor: ObservedActor;
  /** Where it starts: its configured initial state when first seen in a microstep that already left it. */
  readonly state: string;
  /** The state value of `state`, for nested states. */
  readonly value: unknown;
  readonly context: ObservedContext;
  readonly status: ActorStatus;
}

/** A snapshot in another state than the previous snapshot, or the actor's first snapshot. */
export interface StateChanged {
  readonly type: 'changed';
  readonly actor: ObservedActor;
  /** Null on the actor's first snapshot (see `actor.initial` for the state it was configured to start in). */
  readonly from: string | null;
  readonly to: string;
  /** Milliseconds spent in `from`, unrounded; undefined on the first snapshot. */
  readonly ms: number | undefined;
  readonly context: ObservedContext;
  readonly status: ActorStatus;
}

/** A snapshot in the same state as the previous one: its context (or status) changed, not its state. */
export interface ContextChanged {
  readonly type: 'updated';
  readonly actor: ObservedActor;
  readonly context: ObservedContext;
  readonly status: ActorStatus;
}

/**
 * One microstep, for the live view: the transitions taken and where they led. A snapshot whose state the
 * microsteps did not reach yields one too, with no transitions.
 */
export interface Microstep {
  readonly type: 'microstep';
  readonly actor: ObservedActor;
  readonly from: string;
  readonly to: string;
  /** A state was entered: another one, or the same one again (a re-entering transition). */
  readonly moved: boolean;
  /** Milliseconds spent in `from` when moved, unrounded; undefined otherwise. */
  readonly ms: number | undefined;
  readonly transitions: readonly TakenTransition[];
  readonly value: unknown;
  readonly context: ObservedContext;
  readonly status: ActorStatus;
}

/** The actor's first snapshot that is not active; the decoder follows it no further. */
export interface ActorEnded {
  readonly type: 'ended';
  readonly actor: ObservedActor;
  readonly status: Exclude<ActorStatus, 'active'>;
  readonly context: ObservedContext;
  /** Milliseconds from `actor.startedAt` to this snapshot. */
  readonly ms: number;
}

export type ObservedEvent = ActorStarted | StateChanged | ContextChanged | Microstep | ActorEnded;

/**
 * A listener takes the kinds of events it has a method for. The events are made for the call: a listener
 * may keep what they point to (the actor, the context), and should not keep the events themselves.
 * A listener that throws is ignored, never the inspected actor's problem.
 */
export interface ObservationListener {
  started?(event: ActorStarted): void;
  changed?(event: StateChanged): void;
  updated?(event: ContextChanged): void;
  microstep?(event: Microstep): void;
  ended?(event: ActorEnded): void;
}
