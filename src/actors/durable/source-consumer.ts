/**
 * An event source of a durable actor as an ordinary consumer: the inbox, attempts, set-aside, dead letters,
 * the breaker, batches, logs and metrics are a handler's. Its handler applies each message to its instance
 * in the delivery's transaction (`instance-batch.ts`, `write-batch.ts`).
 */
import type { Transaction } from 'kysely';
import type { EventObject } from 'xstate';
import type { ActorDefinition, ActorEventSource } from '../../api/actor.js';
import type { Consumer, DecodedMessage, DeliveryInfo } from '../../api/consumer.js';
import { actorConsumer } from './actor-consumer.js';
import type { Publisher } from '../../api/destination.js';
import { loadBatch, stepInBatch } from './instance-batch.js';
import { eventKey, sourceQueueName } from './names.js';
import { describeEvent, type EventResult } from './results.js';
import { writeBatch } from './write-batch.js';

/** A decoded message of an event source. */
interface SourceMessage {
  readonly instanceId: string;
  readonly event: EventObject;
}

const asMessages = (messages: readonly unknown[]) => messages as readonly SourceMessage[];

/** The consumer of one event source of `definition`, in `service`. */
export function sourceConsumer(
  service: string,
  definition: ActorDefinition,
  source: ActorEventSource,
): Consumer<unknown> {
  const queue = sourceQueueName(service, definition.name, source.origin);
  const actor = definition.name;
  async function handleMany(
    trx: Transaction<unknown>,
    messages: readonly unknown[],
    out: Publisher,
    deliveries: readonly DeliveryInfo[],
  ): Promise<readonly EventResult[]> {
    const inputs = asMessages(messages);
    const batch = await loadBatch(
      trx,
      definition,
      inputs.map((each) => each.instanceId),
    );
    const results = inputs.map((input, index) =>
      stepInBatch(
        batch,
        { ...input, whenMissing: source.whenMissing, messageId: deliveries[index]?.messageId ?? null },
        out,
      ),
    );
    await writeBatch(trx, batch);
    return results;
  }
  return actorConsumer(definition, {
    queue,
    bindings: 'exchange' in source.origin ? [source.origin] : [],
    decode(body: unknown): DecodedMessage {
      const decoded = source.decode(body);
      if (!decoded.ok) return decoded;
      const { instanceId, event } = decoded;
      return {
        ok: true,
        key: decoded.key ?? eventKey(actor, source.label, instanceId),
        message: { instanceId, event },
      };
    },
    handleMany,
    describeReceived: (message: unknown) => {
      const { instanceId, event } = message as SourceMessage;
      return `Processing ${event.type} for ${actor} ${instanceId} from ${source.label}`;
    },
    describeCompleted: (message: unknown, result: unknown) => {
      if (result !== undefined) return describeEvent(result as EventResult);
      const { instanceId, event } = message as SourceMessage;
      return `Dropped ${event.type} for ${actor} ${instanceId} from ${source.label}: a duplicate, it changed nothing`;
    },
  });
}
