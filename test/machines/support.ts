/**
 * Helpers shared by the machine unit tests: a trace of the states an actor visits, and a promise the test
 * settles by hand, so that a stub actor can be held in a state for as long as the test needs.
 */
import { isMachineSnapshot, type InspectionEvent } from 'xstate';
import { initialStateOf } from '../../src/observability/decoder.js';

/** How long a test waits for a snapshot condition before failing (a safety net, never a pause). */
export const patience = { timeout: 5_000 };

const describeValue = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * Records, in order, the states the root actor enters: its configured initial state, then the target of every
 * transition that has one (re-entries included, eventless steps such as `acking` included). Targetless
 * transitions (`on: { STOP: {} }`, an assign on KICK) are not entries and are left out. Pass `inspect` to
 * `createActor`.
 */
export function stateTrace() {
  const states: string[] = [];
  const inspect = (event: InspectionEvent) => {
    if (event.actorRef.sessionId !== event.rootId) return;
    // The configured initial state, even when it is left at once by an eventless transition (`receiving`).
    if (states.length === 0 && event.type === '@xstate.actor') {
      const initial = initialStateOf(event.actorRef);
      if (initial !== undefined) states.push(initial);
    }
    if (
      event.type === '@xstate.microstep' &&
      isMachineSnapshot(event.snapshot) &&
      event._transitions.some((transition) => transition.target !== undefined && transition.target.length > 0)
    ) {
      states.push(describeValue(event.snapshot.value));
    }
  };
  return { states, inspect };
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A promise that never settles: a stub that should keep its state until the machine leaves it. */
export const never = <T>() => new Promise<T>(() => {});

export const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });
