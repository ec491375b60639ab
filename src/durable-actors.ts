/**
 * `ackstate/actors`: durable actors, long-lived XState machines, one instance per id, whose events are
 * messages and whose state, outgoing messages, timers and history commit in the delivery's transaction
 * (see docs/durable-actors.md). A separate entry from `ackstate`: these types bring in XState's, which a
 * service without actors need not compile.
 *
 * @example
 * ```ts
 * import { defineService } from 'ackstate';
 * import { defineActor, publish, simulateActor } from 'ackstate/actors';
 *
 * const activation = defineActor(cardActivationMachine).with({
 *   name: 'card-activation',
 *   version: 1,
 *   events: [{ queue: 'card_queue', schema: cardMessage, id: (card) => card.id, starts: true,
 *              event: (card) => ({ type: 'card.issued', cardId: card.id }) }],
 *   publishes: [{ queue: 'email_queue' }],
 * });
 * const cards = defineService({ name: 'cards', database, actors: [activation] });
 * ```
 *
 * @packageDocumentation
 */
export {
  defineActor,
  type ActorDefiner,
  type ActorDefinition,
  type ActorEventOrigin,
  type ActorEventSourceSpec,
  type ActorSpec,
  type MissingInstancePolicy,
} from './api/actor.js';
export {
  publish,
  type Publication,
  type PublishAction,
  type PublishArgs,
  type PublishBody,
} from './durable/publish.js';
export {
  simulateActor,
  type FiredTimer,
  type Reception,
  type SimulatedActor,
  type SimulatedPublication,
  type SimulatedTimer,
} from './durable/test-kit.js';
export { ActorStepError } from './durable/errors.js';
export type { PersistedActorSnapshot } from './durable/snapshot.js';
export type { AcceptedStep, ActorStep, RefusedStep } from './durable/step.js';
