/**
 * The effects of one step, read from the actions XState's pure `transition()` returns instead of running
 * them: publications (`publish`), timers set (`after` delays, delayed `raise`, delayed `sendTo` to itself)
 * and timers cancelled (leaving a state with `after`, `cancel(id)`). Everything else a durable machine may
 * do is refused, since nothing would run it: custom actions, children, sends to other actors.
 */
import type { EventObject, ExecutableActionObject } from 'xstate';
import { ActorStepError } from './errors.js';
import { jsonProblem } from './json.js';
import { publicationEventType, type Publication, type PublicationEvent } from './publish.js';

/**
 * A durable timer: at `dueAt` the runtime delivers `event` to the instance, unless a later step cancelled
 * the timer (by `id`) first.
 *
 * @example
 * ```ts
 * { id: 'xstate.after.reminder.card-activation.waiting', event: { type: 'xstate.after.reminder.card-activation.waiting' },
 *   dueAt: new Date('2026-03-03T10:00:00Z') }
 * ```
 */
export interface ActorTimer {
  /** Stable across steps: XState's `after` ids name the delay and the state; a delayed send names its own. */
  readonly id: string;
  /** Plain JSON: it is stored with the timer. */
  readonly event: EventObject;
  readonly dueAt: Date;
}

/** The effects of a step, in the order its actions ran. */
export interface StepEffects {
  readonly publications: readonly Publication[];
  /** Timers to write, after removing `timersToCancel`: each replaces a timer of the instance with its id. */
  readonly timersToSet: readonly ActorTimer[];
  /** Ids of timers to remove first (a re-entered state cancels its timer and sets it again). */
  readonly timersToCancel: readonly string[];
}

// Built-in actions with nothing to do in a durable step: a log line, stopping a child that cannot exist.
const inertActions = new Set(['xstate.log', 'xstate.stopChild']);

/**
 * Reads the effects of `actions`. `now` is the step's clock, from which timers are due; `where` describes
 * the step in errors (`on 'card.issued' in state 'waiting'`).
 */
export function collectEffects(actions: readonly ExecutableActionObject[], now: Date, where: string): StepEffects {
  const publications: Publication[] = [];
  const timers = new Map<string, ActorTimer>();
  const cancelled = new Set<string>();
  for (const action of actions) {
    const effect = effectOf(action, now, where);
    if (effect.kind === 'publish') publications.push(effect.publication);
    if (effect.kind === 'set') timers.set(effect.timer.id, effect.timer);
    if (effect.kind === 'cancel') {
      timers.delete(effect.id);
      cancelled.add(effect.id);
    }
  }
  return { publications, timersToSet: [...timers.values()], timersToCancel: [...cancelled] };
}

type Effect =
  | { readonly kind: 'none' }
  | { readonly kind: 'publish'; readonly publication: Publication }
  | { readonly kind: 'set'; readonly timer: ActorTimer }
  | { readonly kind: 'cancel'; readonly id: string };

const none: Effect = { kind: 'none' };

interface DelayedParams {
  readonly event: EventObject;
  readonly id: unknown;
  readonly delay: unknown;
  readonly to?: unknown;
}

function effectOf(action: ExecutableActionObject, now: Date, where: string): Effect {
  switch (action.type) {
    case 'xstate.emit':
      return publicationOf((action.params as { readonly event: EventObject }).event);
    case 'xstate.raise':
      return timerOf(action.params as DelayedParams, 'raise', now, where);
    case 'xstate.sendTo':
      return sendToSelfOf(action, now, where);
    case 'xstate.cancel':
      return { kind: 'cancel', id: String((action.params as { readonly sendId: unknown }).sendId) };
    case 'xstate.spawnChild':
      throw new ActorStepError(`${where}: the machine spawns an actor; durable actors have no children`);
    default:
      if (inertActions.has(action.type)) return none;
      throw new ActorStepError(
        `${where}: the machine runs the action '${action.type}', which a durable step never executes (it would ` +
          'run again at every retry, outside the transaction); use assign, publish, raise and cancel',
      );
  }
}

function publicationOf(event: EventObject): Effect {
  if (event.type !== publicationEventType) return none;
  const { destination, body, options } = event as PublicationEvent;
  return { kind: 'publish', publication: { destination, body, options } };
}

function sendToSelfOf(action: ExecutableActionObject, now: Date, where: string): Effect {
  const params = action.params as DelayedParams;
  if (params.to !== action.info.self) {
    throw new ActorStepError(`${where}: the machine sends '${params.event.type}' to another actor; publish a message`);
  }
  if (typeof params.delay !== 'number') {
    throw new ActorStepError(`${where}: the machine sends '${params.event.type}' to itself without a delay; use raise`);
  }
  return timerOf(params, 'sendTo', now, where);
}

function timerOf(params: DelayedParams, how: string, now: Date, where: string): Effect {
  const { event, id, delay } = params;
  if (typeof delay !== 'number') return none; // raised without a delay: XState handled it within the step
  const what = `${where}: the delayed ${how} of '${event.type}' (${delay} ms)`;
  if (typeof id !== 'string' || id.length === 0) {
    throw new ActorStepError(`${what} has no id; give it { id } so that a later step can find and cancel it`);
  }
  const problem = jsonProblem(event, 'event');
  if (problem !== undefined) {
    throw new ActorStepError(`${what}: a delayed event must be plain JSON, since it is stored: ${problem}`);
  }
  return { kind: 'set', timer: { id, event, dueAt: new Date(now.getTime() + Math.max(0, delay)) } };
}
