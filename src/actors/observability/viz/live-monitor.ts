/**
 * The visualizer's view of the running process, built from the same inspection stream that feeds the log
 * (it is one of the inspector's listeners): for each machine, how many actors are in each state now, how
 * often each state was entered and each transition taken since start; the current state of the supervisor,
 * the connection, the consumers and the relays; and the recent deliveries with their paths.
 *
 * It follows XState's microsteps rather than snapshots, so it sees the eventless states (`acking`,
 * `nacking`) that a snapshot skips, and it knows which transition was taken, not only where it led.
 */
import type { InspectionEvent } from 'xstate';
import { activePaths, initialKey, pathOf, rootPath, transitionKey } from '../../../viz/chart.js';
import type { DeliveryContext } from '../../../machines/delivery.js';
import { initialStateOf, machineId, stateName } from '../inspector.js';
import { RecentDeliveries, type DeliveryRecord } from './recent-deliveries.js';

export interface MachineCounts {
  /** Actors in each state right now (ancestors of the current state included). */
  readonly now: Record<string, number>;
  /** Entries into each state since the process started. */
  readonly entered: Record<string, number>;
  /** Transitions taken since the process started, by transition key (see `src/viz/chart.ts`). */
  readonly transitions: Record<string, number>;
}

export interface ActorStatus {
  /** `supervisor`, `connection`, `consumer:user`, `outbox:card`, … */
  readonly name: string;
  readonly machine: string;
  readonly state: string;
  readonly status: string;
  /** Epoch milliseconds when it entered the state. */
  readonly since: number;
  readonly error: string | undefined;
}

export interface LiveStats {
  readonly startedAt: number;
  readonly machines: Record<string, MachineCounts>;
  readonly actors: readonly ActorStatus[];
  readonly deliveriesInFlight: number;
}

interface Counters {
  readonly now: Map<string, number>;
  readonly entered: Map<string, number>;
  readonly transitions: Map<string, number>;
}

interface Track {
  readonly machine: string;
  readonly name: string;
  paths: string[];
  state: string;
  since: number;
  sincePrecise: number;
  live: boolean;
  /** A delivery batch: one record per delivery, in the batch's order. */
  records: DeliveryRecord[] | undefined;
}

/** The parts of XState's transition definitions the monitor reads from a microstep. */
interface TakenTransition {
  readonly eventType: string;
  readonly reenter?: boolean;
  readonly target?: readonly { path: readonly string[] }[];
  readonly source: {
    readonly path: readonly string[];
    readonly transitions: Map<string, readonly unknown[]>;
    readonly always?: readonly unknown[];
  };
}

interface SnapshotLike {
  readonly value?: unknown;
  readonly status?: string;
  readonly context?: Record<string, unknown>;
}

export interface LiveMonitorOptions {
  /** Service name per consumed queue, as in the log's `service` field. */
  readonly services?: ReadonlyMap<string, string>;
  /** How many recent deliveries to keep. */
  readonly capacity?: number;
  readonly now?: () => number;
}

const deliveryMachineId = 'delivery';

export class LiveMonitor {
  readonly startedAt: number;
  readonly #services: ReadonlyMap<string, string>;
  readonly #clock: () => number;
  readonly #tracks = new WeakMap<object, Track>();
  readonly #machines = new Map<string, Counters>();
  readonly #actors = new Map<string, { track: Track; error: string | undefined; status: string }>();
  readonly recent: RecentDeliveries;
  #inFlight = 0;
  #version = 0;

  constructor({ services = new Map(), capacity = 200, now = Date.now }: LiveMonitorOptions = {}) {
    this.#services = services;
    this.#clock = now;
    this.startedAt = now();
    this.recent = new RecentDeliveries(capacity);
  }

  /** Bumped on every change: a reader compares it with the one it last saw. */
  get version(): number {
    return this.#version;
  }

  /** The inspection listener. Never throws into the machines: the inspector guards its listeners too. */
  readonly observe = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot' && event.type !== '@xstate.microstep') return;
    const machine = machineId(event.actorRef);
    if (!machine) return;
    const snapshot = event.snapshot as SnapshotLike;
    let track = this.#tracks.get(event.actorRef);
    if (!track) {
      if (snapshot.status !== undefined && snapshot.status !== 'active') return;
      // A first microstep has already left the initial state (a delivery's eventless `receiving`): begin there.
      const initial = event.type === '@xstate.microstep' ? initialStateOf(event.actorRef) : undefined;
      track = this.#begin(event.actorRef, machine, initial === undefined ? snapshot : { ...snapshot, value: initial });
      if (event.type === '@xstate.snapshot') return;
    }
    if (!track.live) return;
    if (event.type === '@xstate.microstep') {
      this.#step(track, snapshot, event._transitions as unknown as readonly TakenTransition[]);
    } else if (stateName(snapshot.value) !== track.state) {
      this.#step(track, snapshot, []);
    }
    if (snapshot.status !== undefined && snapshot.status !== 'active') this.#end(track, snapshot);
  };

  stats(): LiveStats {
    const machines: Record<string, MachineCounts> = {};
    for (const [id, counts] of this.#machines) {
      machines[id] = {
        now: Object.fromEntries(counts.now),
        entered: Object.fromEntries(counts.entered),
        transitions: Object.fromEntries(counts.transitions),
      };
    }
    return {
      startedAt: this.startedAt,
      machines,
      actors: [...this.#actors.values()].map(({ track, error, status }) => ({
        name: track.name,
        machine: track.machine,
        state: track.state,
        status,
        since: track.since,
        error,
      })),
      deliveriesInFlight: this.#inFlight,
    };
  }

  #counts(machine: string): Counters {
    let counts = this.#machines.get(machine);
    if (!counts) {
      counts = { now: new Map(), entered: new Map(), transitions: new Map() };
      this.#machines.set(machine, counts);
    }
    return counts;
  }

  #begin(actor: object, machine: string, snapshot: SnapshotLike): Track {
    const now = this.#clock();
    const paths = activePaths(snapshot.value);
    const ref = actor as { id?: unknown; systemId?: unknown };
    const name = typeof ref.systemId === 'string' ? ref.systemId : machine;
    const track: Track = {
      machine,
      name,
      paths,
      state: stateName(snapshot.value),
      since: now,
      sincePrecise: performance.now(),
      live: true,
      records: undefined,
    };
    this.#tracks.set(actor, track);
    const counts = this.#counts(machine);
    add(counts.transitions, initialKey(rootPath));
    for (const path of paths) {
      add(counts.entered, path);
      add(counts.now, path);
    }
    if (machine === deliveryMachineId) {
      const context = (snapshot.context ?? {}) as unknown as DeliveryContext;
      track.records = (context.deliveries ?? []).map((delivery) =>
        this.recent.add({
          queue: delivery.queue,
          service: this.#services.get(delivery.queue),
          messageId: delivery.messageId,
          deliveryTag: delivery.deliveryTag,
          redelivered: delivery.redelivered,
          batch: context.deliveries.length,
          state: track.state,
          at: now,
        }),
      );
      this.#inFlight += track.records.length;
    } else {
      // A respawned child takes its predecessor's name: the predecessor no longer counts as anywhere.
      const previous = this.#actors.get(name);
      if (previous && previous.track !== track && previous.track.live) this.#leave(previous.track);
      this.#actors.set(name, { track, error: errorOf(snapshot), status: 'active' });
    }
    this.#version += 1;
    return track;
  }

  #step(track: Track, snapshot: SnapshotLike, transitions: readonly TakenTransition[]): void {
    const counts = this.#counts(track.machine);
    let reentered: string[] | undefined;
    for (const transition of transitions) {
      add(counts.transitions, keyOf(transition));
      if (transition.reenter) {
        for (const target of transition.target ?? []) (reentered ??= []).push(pathOf(target.path));
      }
    }
    const paths = activePaths(snapshot.value);
    const previous = track.paths;
    for (const path of previous) add(counts.now, path, -1);
    for (const path of paths) {
      add(counts.now, path);
      if (!previous.includes(path) || reentered?.some((target) => path === target || path.startsWith(`${target}.`))) {
        add(counts.entered, path);
      }
    }
    track.paths = paths;
    const state = stateName(snapshot.value);
    const now = this.#clock();
    const precise = performance.now();
    if (state !== track.state || reentered !== undefined) {
      for (const record of track.records ?? []) this.recent.moved(record, state, now, precise - track.sincePrecise);
      track.state = state;
      track.since = now;
      track.sincePrecise = precise;
    }
    for (const [index, record] of (track.records ?? []).entries()) {
      this.recent.updateFromContext(record, (snapshot.context ?? {}) as unknown as DeliveryContext, index);
    }
    const actor = this.#actors.get(track.name);
    if (actor?.track === track) actor.error = errorOf(snapshot);
    this.#version += 1;
  }

  #end(track: Track, snapshot: SnapshotLike): void {
    this.#leave(track);
    for (const [index, record] of (track.records ?? []).entries()) {
      this.recent.finished(
        record,
        this.#clock(),
        (snapshot.context ?? {}) as unknown as DeliveryContext,
        snapshot.status,
        index,
      );
    }
    const actor = this.#actors.get(track.name);
    if (actor?.track === track) actor.status = snapshot.status ?? 'stopped';
    this.#version += 1;
  }

  #leave(track: Track): void {
    if (!track.live) return;
    track.live = false;
    const counts = this.#counts(track.machine);
    for (const path of track.paths) add(counts.now, path, -1);
    if (track.records) this.#inFlight -= track.records.length;
  }
}

function add(counts: Map<string, number>, key: string, by = 1): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0 && by < 0) counts.delete(key);
  else counts.set(key, next);
}

/** Transition definitions live as long as their machine: each one's key is worked out once. */
const keys = new WeakMap<TakenTransition, string>();

function keyOf(transition: TakenTransition): string {
  let key = keys.get(transition);
  if (key === undefined) {
    const { source, eventType } = transition;
    const candidates = eventType === '' ? source.always : source.transitions.get(eventType);
    key = transitionKey(pathOf(source.path), eventType, Math.max(0, candidates?.indexOf(transition) ?? 0));
    keys.set(transition, key);
  }
  return key;
}

function errorOf(snapshot: SnapshotLike): string | undefined {
  const error = snapshot.context?.error;
  return typeof error === 'string' ? error : undefined;
}
