/**
 * What the consumers of a durable actor (its event sources', its timer queue's) have in common: the
 * runtime's default settings, a single message handled as a batch of one (one lock, one write), the
 * actor's declared destinations, and a name that says whose queue it is.
 */
import type { Transaction } from 'kysely';
import type { ActorDefinition } from '../../api/actor.js';
import type { Binding } from '../../api/destination.js';
import type { Consumer, DecodedMessage, DeliveryInfo } from '../../api/consumer.js';
import type { Publisher } from '../../api/destination.js';

/** The parts that differ between an actor's consumers. */
export interface ActorConsumerParts {
  readonly queue: string;
  readonly bindings: readonly Binding[];
  decode(body: unknown): DecodedMessage;
  handleMany(
    trx: Transaction<unknown>,
    messages: readonly unknown[],
    out: Publisher,
    deliveries: readonly DeliveryInfo[],
  ): Promise<readonly unknown[]>;
  describeReceived(message: unknown): string;
  describeCompleted(message: unknown, result: unknown): string;
}

/** A consumer of `definition` made of `parts`. */
export function actorConsumer(definition: ActorDefinition, parts: ActorConsumerParts): Consumer<unknown> {
  const { handleMany } = parts;
  return Object.freeze({
    ...parts,
    name: `${definition.name}:${parts.queue}`,
    settings: {},
    publishes: definition.publishes,
    handle: async (trx: Transaction<unknown>, message: unknown, out: Publisher, delivery: DeliveryInfo) =>
      (await handleMany(trx, [message], out, [delivery]))[0],
  });
}
