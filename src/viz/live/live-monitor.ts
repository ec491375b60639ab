/**
 * The visualizer's view of the running process, built from the same decoded inspection stream that feeds
 * the log and the metrics (it is one of the decoder's listeners, see `decoder.ts`): for each machine, how
 * many actors are in each state now, how often each state was entered and each transition taken since
 * start; the current state of the supervisor, the connection, the consumers and the relays; and the recent
 * deliveries with their paths, each naming its service and consumer.
 *
 * It follows the decoder's microsteps rather than its snapshots, so it sees the eventless states (`acking`,
 * `nacking`) that a snapshot skips, and it knows which transition was taken, not only where it led.
 */
import { activePaths, initialKey, pathOf, rootPath, transitionKey } from '../charts/chart.js';
import type { DeliveryContext } from '../../machines/delivery.js';
import {
  type ActorEnded,
  type ActorStarted,
  type Microstep,
  type ObservationListener,
  type ObservedActor,
  type ObservedContext,
  type TakenTransition,
} from '../../observability/observation.js';
import type { LiveStats, MachineCounts } from './payload.js';
import { RecentDeliveries, type NewBatch, type TrackedBatch } from './recent-deliveries.js';

interface Counters {
  readonly now: Map<string, number>;
  readonly entered: Map<string, number>;
  readonly transitions: Map<string, number>;
}

interface Track {
  /** The decoder's record: machine, name, owner, and the state it is in (`step`). */
  readonly actor: ObservedActor;
  paths: string[];
  /** Epoch milliseconds when it entered its state. */
  since: number;
  live: boolean;
  /** A delivery batch: tracked once for all its deliveries. */
  batch: TrackedBatch | undefined;
}

export interface LiveMonitorOptions {
  /** How many recent deliveries to keep. */
  readonly capacity?: number;
  /** Epoch milliseconds, for the times shown. */
  readonly now?: () => number;
}

export class LiveMonitor implements ObservationListener {
  readonly startedAt: number;
  readonly #clock: () => number;
  readonly #tracks = new WeakMap<ObservedActor, Track>();
  readonly #machines = new Map<string, Counters>();
  readonly #actors = new Map<string, { track: Track; error: string | undefined; status: string }>();
  readonly recent: RecentDeliveries;
  #inFlight = 0;
  #version = 0;

  constructor({ capacity = 200, now = Date.now }: LiveMonitorOptions = {}) {
    this.#clock = now;
    this.startedAt = now();
    this.recent = new RecentDeliveries(capacity);
  }

  /** Bumped on every change: a reader compares it with the one it last saw. */
  get version(): number {
    return this.#version;
  }

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
      actors: [...this.#actors.values()].map(({ track, error, status }) => {
        const { actor } = track;
        const consumer = actor.kind === 'consumer';
        return {
          name: actor.name,
          machine: actor.machine,
          state: actor.step,
          status,
          since: track.since,
          error,
          service: consumer ? actor.owner?.service : undefined,
          consumer: consumer ? actor.owner?.consumer : undefined,
          queue: consumer ? actor.queue : undefined,
        };
      }),
      deliveriesInFlight: this.#inFlight,
    };
  }

  /** An actor begins where the decoder first saw it (a delivery in `receiving`); one already ended is not followed. */
  started(event: ActorStarted): void {
    if (event.status !== 'active') return;
    const { actor } = event;
    const now = this.#clock();
    const paths = activePaths(event.value);
    const track: Track = { actor, paths, since: now, live: true, batch: undefined };
    this.#tracks.set(actor, track);
    const counts = this.#counts(actor.machine);
    add(counts.transitions, initialKey(rootPath));
    for (const path of paths) {
      add(counts.entered, path);
      add(counts.now, path);
    }
    if (actor.kind === 'delivery') {
      const context = event.context as unknown as DeliveryContext;
      const started: NewBatch = {
        service: actor.owner?.service,
        consumer: actor.owner?.consumer,
        deliveries: context.deliveries ?? [],
        state: event.state,
        at: now,
      };
      track.batch = this.recent.add(started, context);
      this.#inFlight += track.batch.count;
    } else {
      // A respawned child takes its predecessor's name: the predecessor no longer counts as anywhere.
      const previous = this.#actors.get(actor.name);
      if (previous && previous.track !== track && previous.track.live) this.#leave(previous.track);
      this.#actors.set(actor.name, { track, error: errorOf(event.context), status: 'active' });
    }
    this.#version += 1;
  }

  microstep(event: Microstep): void {
    const track = this.#tracks.get(event.actor);
    if (track === undefined || !track.live) return;
    const counts = this.#counts(event.actor.machine);
    let reentered: string[] | undefined;
    for (const transition of event.transitions) {
      add(counts.transitions, keyOf(transition));
      if (transition.reenter) {
        for (const target of transition.target ?? []) (reentered ??= []).push(pathOf(target.path));
      }
    }
    const paths = activePaths(event.value);
    const previous = track.paths;
    for (const path of previous) add(counts.now, path, -1);
    for (const path of paths) {
      add(counts.now, path);
      if (!previous.includes(path) || reentered?.some((target) => path === target || path.startsWith(`${target}.`))) {
        add(counts.entered, path);
      }
    }
    track.paths = paths;
    const batch = track.batch;
    if (event.moved) {
      const now = this.#clock();
      if (batch !== undefined) this.recent.moved(batch, event.to, now, event.ms!);
      track.since = now;
    }
    if (batch !== undefined && event.context !== undefined) {
      this.recent.updated(batch, event.context as unknown as DeliveryContext);
    }
    const actor = this.#actors.get(event.actor.name);
    if (actor?.track === track) actor.error = errorOf(event.context);
    this.#version += 1;
  }

  ended(event: ActorEnded): void {
    const track = this.#tracks.get(event.actor);
    if (track === undefined || !track.live) return;
    this.#leave(track);
    if (track.batch !== undefined) {
      this.recent.finished(track.batch, this.#clock(), event.context as unknown as DeliveryContext, event.status);
    }
    const actor = this.#actors.get(event.actor.name);
    if (actor?.track === track) actor.status = event.status;
    this.#version += 1;
  }

  #counts(machine: string): Counters {
    let counts = this.#machines.get(machine);
    if (!counts) {
      counts = { now: new Map(), entered: new Map(), transitions: new Map() };
      this.#machines.set(machine, counts);
    }
    return counts;
  }

  #leave(track: Track): void {
    if (!track.live) return;
    track.live = false;
    const counts = this.#counts(track.actor.machine);
    for (const path of track.paths) add(counts.now, path, -1);
    if (track.batch) this.#inFlight -= track.batch.count;
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

function errorOf(context: ObservedContext): string | undefined {
  const error = context.error;
  return typeof error === 'string' ? error : undefined;
}
