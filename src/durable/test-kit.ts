/**
 * A durable actor run in memory, with time advanced by the test: no broker, no database, no waiting. It
 * applies `stepActor` exactly as the runtime does (snapshots stored as JSON, timers cancelled before they
 * are set, all timers of a finished instance removed), so a definition's transitions, publications and
 * timers can be tested in milliseconds.
 *
 * @example
 * ```ts
 * const actor = simulateActor(activation, { start: new Date('2026-03-01T00:00:00Z') });
 * actor.send('card-1', { type: 'card.issued', card });
 * actor.advance(2 * day);
 * t.is(actor.state('card-1'), 'reminded');
 * t.deepEqual(actor.publications().map((p) => p.destination), [{ queue: 'email_queue' }]);
 * actor.receive({ queue: 'card_activated' }, { cardId: 'card-1' });
 * t.is(actor.state('card-1'), 'active');
 * ```
 */
import type { AnyEventObject, AnyStateMachine, EventFromLogic } from 'xstate';
import type { ActorDefinition, ActorEventOrigin } from '../api/actor.js';
import type { ActorTimer } from './effects.js';
import { labelOf } from './origin.js';
import type { Publication } from './publish.js';
import type { PersistedActorSnapshot, StoredActor } from './snapshot.js';
import { stepActor, type AcceptedStep, type ActorStep } from './step.js';

/** A publication of the simulation: which instance published it, and when. */
export interface SimulatedPublication extends Publication {
  readonly instanceId: string;
  readonly at: Date;
}

/** A pending timer of the simulation. */
export interface SimulatedTimer extends ActorTimer {
  readonly instanceId: string;
}

/** A timer that fired during `advance`, and the step it caused. */
export interface FiredTimer {
  readonly instanceId: string;
  readonly timer: ActorTimer;
  readonly step: ActorStep;
}

/** What became of a message given to `receive`, as the runtime would treat it. */
export type Reception =
  | { readonly outcome: 'applied'; readonly instanceId: string; readonly step: AcceptedStep }
  | { readonly outcome: 'ignored' | 'dead-lettered'; readonly reason: string };

/**
 * A durable actor in memory, on a simulated clock: what the runtime would store, publish and fire, without a
 * broker, a database or any waiting. See `simulateActor`.
 *
 * @example
 * ```ts
 * const actor = simulateActor(activation);
 * actor.receive({ queue: 'card_queue' }, { id: 'c-1', email: 'ada@example.com' });
 * actor.advance(2 * day);
 * assert.equal(actor.state('c-1'), 'reminded');
 * assert.deepEqual(actor.publications('c-1').map((each) => each.destination), [{ queue: 'email_queue' }]);
 * actor.send('c-1', { type: 'card.activated' });
 * assert.ok(actor.done('c-1'));
 * assert.deepEqual(actor.timers('c-1'), []);
 * ```
 */
export interface SimulatedActor<TMachine extends AnyStateMachine = AnyStateMachine> {
  /** The simulated clock. */
  readonly now: Date;
  /** Applies `event` to the instance, starting it when it does not exist. */
  send(instanceId: string, event: EventFromLogic<TMachine>): ActorStep;
  /** Decodes `body` as the source of `origin` does and applies it, following the source's `whenMissing`. */
  receive(origin: ActorEventOrigin, body: unknown): Reception;
  /** Moves the clock `ms` forward, firing each due timer in due order (if still set when its turn comes). */
  advance(ms: number): FiredTimer[];
  /** The instance's state (`stateOf`), undefined when it does not exist. */
  state(instanceId: string): string | undefined;
  /** The instance's stored snapshot, as the database would give it back. */
  snapshot(instanceId: string): PersistedActorSnapshot | undefined;
  /** True when the instance reached a final state. */
  done(instanceId: string): boolean;
  /** Publications so far, of one instance or of all, in order. */
  publications(instanceId?: string): SimulatedPublication[];
  /** Pending timers, of one instance or of all, in due order. */
  timers(instanceId?: string): SimulatedTimer[];
}

interface Instance {
  readonly stored: StoredActor;
  readonly state: string;
  readonly done: boolean;
}

interface PendingTimer extends SimulatedTimer {
  /** Orders timers due at the same time: the one set first fires first. */
  readonly sequence: number;
}

/** Runs `definition` in memory; the clock starts at `start` (default 2026-01-01T00:00:00Z). */
export function simulateActor<TMachine extends AnyStateMachine>(
  definition: ActorDefinition<TMachine>,
  { start = new Date('2026-01-01T00:00:00Z') }: { readonly start?: Date } = {},
): SimulatedActor<TMachine> {
  let now = start.getTime();
  let sequence = 0;
  const instances = new Map<string, Instance>();
  let pending: PendingTimer[] = [];
  const published: SimulatedPublication[] = [];

  function apply(instanceId: string, step: AcceptedStep): void {
    // Stored and read back as JSON, as a row would be: a snapshot that does not survive it shows at once.
    const snapshot = JSON.parse(JSON.stringify(step.snapshot)) as PersistedActorSnapshot;
    instances.set(instanceId, { stored: { snapshot, version: step.version }, state: step.state, done: step.done });
    const at = new Date(now);
    for (const publication of step.publications) published.push({ ...publication, instanceId, at });
    const replaced = new Set([...step.timersToCancel, ...step.timersToSet.map((timer) => timer.id)]);
    pending = pending.filter((timer) => timer.instanceId !== instanceId || !(step.done || replaced.has(timer.id)));
    if (step.done) return;
    for (const timer of step.timersToSet) pending.push({ ...timer, instanceId, sequence: sequence++ });
  }

  function send(instanceId: string, event: AnyEventObject): ActorStep {
    const step = stepActor(definition, instances.get(instanceId)?.stored, event, { now: new Date(now) });
    if (step.accepted) apply(instanceId, step);
    return step;
  }

  function receive(origin: ActorEventOrigin, body: unknown): Reception {
    const label = labelOf(origin);
    const source = definition.sources.find((each) => each.label === label);
    if (source === undefined) throw new Error(`${definition.name} has no source ${label}`);
    const decoded = source.decode(body);
    if (!decoded.ok) return { outcome: 'dead-lettered', reason: decoded.reason };
    const missing = !instances.has(decoded.instanceId);
    if (missing && source.whenMissing !== 'start') {
      return missed(source.whenMissing, `no instance ${decoded.instanceId} of ${definition.name}`);
    }
    const step = send(decoded.instanceId, decoded.event);
    if (step.accepted) return { outcome: 'applied', instanceId: decoded.instanceId, step };
    return missed(source.whenMissing, step.reason);
  }

  function advance(ms: number): FiredTimer[] {
    const until = now + ms;
    const fired: FiredTimer[] = [];
    for (let next = firstDue(pending, until); next !== undefined; next = firstDue(pending, until)) {
      const timer = next;
      pending = pending.filter((each) => each !== timer);
      now = Math.max(now, timer.dueAt.getTime());
      const { id, event, dueAt } = timer;
      fired.push({ instanceId: timer.instanceId, timer: { id, event, dueAt }, step: send(timer.instanceId, event) });
    }
    now = Math.max(now, until);
    return fired;
  }

  return {
    get now() {
      return new Date(now);
    },
    send,
    receive,
    advance,
    state: (instanceId) => instances.get(instanceId)?.state,
    snapshot: (instanceId) => instances.get(instanceId)?.stored.snapshot,
    done: (instanceId) => instances.get(instanceId)?.done ?? false,
    publications: (instanceId) =>
      published.filter((each) => instanceId === undefined || each.instanceId === instanceId),
    timers: (instanceId) =>
      [...pending]
        .sort(byDue)
        .filter((timer) => instanceId === undefined || timer.instanceId === instanceId)
        .map(withoutSequence),
  };
}

function withoutSequence({ instanceId, id, event, dueAt }: PendingTimer): SimulatedTimer {
  return { instanceId, id, event, dueAt };
}

function missed(policy: 'start' | 'ignore' | 'dead-letter', reason: string): Reception {
  return { outcome: policy === 'dead-letter' ? 'dead-lettered' : 'ignored', reason };
}

function firstDue(timers: readonly PendingTimer[], until: number): PendingTimer | undefined {
  return [...timers].sort(byDue).find((timer) => timer.dueAt.getTime() <= until);
}

function byDue(a: PendingTimer, b: PendingTimer): number {
  return a.dueAt.getTime() - b.dueAt.getTime() || a.sequence - b.sequence;
}
