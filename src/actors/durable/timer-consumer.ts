/**
 * The consumer of a durable actor's timer queue: a firing is applied only if its timer is still set with
 * the token it was claimed with (`takeFiredTimers`, after the instances are locked); otherwise the instance
 * left the state (perhaps entering it again, with a new token), and the firing does nothing.
 */
import type { Transaction } from 'kysely';
import type { ActorDefinition } from '../../api/actor.js';
import type { Consumer, DecodedMessage, DeliveryInfo } from '../../api/consumer.js';
import { actorConsumer } from './actor-consumer.js';
import type { Publisher } from '../../api/destination.js';
import { describeIssues } from '../../api/describe-issues.js';
import { takeFiredTimers } from '../../db/actor-queries.js';
import { firingSchema, type Firing } from './firing.js';
import { loadBatch, stepInBatch, type InstanceBatch } from './instance-batch.js';
import { firingKey, timerQueueName } from './names.js';
import { describeFiring, type FiringResult } from './results.js';
import { writeBatch } from './write-batch.js';

const stale = 'the timer is no longer set: its instance left the state, or the firing was applied already';

/** The consumer of the timer queue of `definition`, in `service`. */
export function timerConsumer(service: string, definition: ActorDefinition): Consumer<unknown> {
  const queue = timerQueueName(service, definition.name);
  const actor = definition.name;
  async function handleMany(
    trx: Transaction<unknown>,
    messages: readonly unknown[],
    out: Publisher,
    deliveries: readonly DeliveryInfo[],
  ): Promise<readonly FiringResult[]> {
    const firings = messages as readonly Firing[];
    const batch = await loadBatch(
      trx,
      definition,
      firings.map((firing) => firing.instanceId),
    );
    const taken = await takeFiredTimers(trx, firings);
    const results = firings.map((firing, index) =>
      fire(batch, firing, taken.has(firing.token), out, deliveries[index]?.messageId ?? null),
    );
    await writeBatch(trx, batch);
    return results;
  }
  return actorConsumer(definition, {
    queue,
    bindings: [],
    decode(body: unknown): DecodedMessage {
      const parsed = firingSchema.safeParse(body);
      if (!parsed.success) return { ok: false, reason: `body fails validation: ${describeIssues(parsed.error)}` };
      if (parsed.data.actor !== actor) return { ok: false, reason: `a firing of ${parsed.data.actor}, not ${actor}` };
      return { ok: true, key: firingKey(actor, parsed.data.token), message: parsed.data };
    },
    handleMany,
    describeReceived: (message: unknown) => {
      const { instanceId, timerId } = message as Firing;
      return `Firing timer ${timerId} of ${actor} ${instanceId}`;
    },
    describeCompleted: (message: unknown, result: unknown) => {
      if (result !== undefined) return describeFiring(result as FiringResult);
      const { instanceId, timerId } = message as Firing;
      return `Dropped a repeated firing of timer ${timerId} of ${actor} ${instanceId}: it changed nothing`;
    },
  });
}

function fire(batch: InstanceBatch, firing: Firing, taken: boolean, out: Publisher, messageId: string | null) {
  const { instanceId, timerId, event } = firing;
  const lagMs = Math.max(0, batch.now.getTime() - Date.parse(firing.dueAt));
  if (!taken) {
    return {
      outcome: 'stale',
      actor: batch.definition.name,
      instanceId,
      event: event.type,
      reason: stale,
      timerId,
      lagMs,
    } as const;
  }
  return { ...stepInBatch(batch, { instanceId, event, whenMissing: 'ignore', messageId }, out), timerId, lagMs };
}
