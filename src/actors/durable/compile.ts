/**
 * A durable actor compiles to ordinary consumers: one per event source, and one for its timer queue. The
 * runtime plans, declares, runs and observes them like any other.
 */
import type { ActorDefinition } from '../../api/actor.js';
import type { Consumer } from '../../api/consumer.js';
import { sourceConsumer } from './source-consumer.js';
import { timerConsumer } from './timer-consumer.js';

/** The consumers of `definition` in `service`: its event sources' in order, then its timer queue's. */
export function actorConsumers(service: string, definition: ActorDefinition): Consumer<unknown>[] {
  return [
    ...definition.sources.map((source) => sourceConsumer(service, definition, source)),
    timerConsumer(service, definition),
  ];
}
