/**
 * Writes what the steps of one delivery's transaction made of its instances: new instances, changed ones,
 * their timers (cancelled, then set; all of them removed for an instance that reached a final state) and
 * their history, a few statements for the whole batch.
 */
import {
  appendHistory,
  cancelAllTimers,
  cancelTimers,
  insertInstances,
  setTimers,
  updateInstances,
  type ActorInstanceWrite,
  type TimerKey,
  type TimerToSet,
} from '../../db/actor-queries.js';
import type { QueryRunner } from '../../db/prepared.js';
import type { InstanceBatch, WorkingInstance } from './instance-batch.js';

/**
 * Another transaction started an instance this batch was starting (both saw no row): nothing of this batch
 * is written; it runs again, and then finds the instance.
 */
export class ConcurrentStartError extends Error {
  override name = 'ConcurrentStartError';
}

/** Writes the batch's changes, in the caller's transaction. */
export async function writeBatch(trx: QueryRunner, batch: InstanceBatch): Promise<void> {
  const actor = batch.definition.name;
  const changed = [...batch.instances].filter(([, instance]) => instance.changed);
  const started = changed.filter(([, instance]) => !instance.existed);
  const created = await insertInstances(trx, actor, started.map(toWrite));
  const raced = started.filter(([id]) => !created.has(id)).map(([id]) => id);
  if (raced.length > 0) {
    throw new ConcurrentStartError(`${actor} ${raced.join(', ')} started by another transaction meanwhile`);
  }
  await updateInstances(trx, actor, changed.filter(([, instance]) => instance.existed).map(toWrite));
  await writeTimers(trx, batch, changed);
  await appendHistory(trx, actor, batch.history);
}

function toWrite([instanceId, instance]: readonly [string, WorkingInstance]): ActorInstanceWrite {
  return {
    instanceId,
    state: instance.state,
    snapshot: instance.stored!.snapshot,
    definitionVersion: instance.stored!.version,
    status: instance.done ? 'done' : 'active',
  };
}

async function writeTimers(
  trx: QueryRunner,
  batch: InstanceBatch,
  changed: readonly (readonly [string, WorkingInstance])[],
): Promise<void> {
  const actor = batch.definition.name;
  const cancelled: TimerKey[] = [];
  const set: TimerToSet[] = [];
  for (const [instanceId, instance] of changed) {
    if (instance.done) continue;
    for (const [timerId, timer] of instance.timers) {
      if (timer === null) cancelled.push({ instanceId, timerId });
      else {
        const delayMs = Math.max(0, timer.dueAt.getTime() - batch.now.getTime());
        set.push({ instanceId, timerId, event: timer.event, delayMs });
      }
    }
  }
  await cancelAllTimers(
    trx,
    actor,
    changed.filter(([, instance]) => instance.done).map(([id]) => id),
  );
  await cancelTimers(trx, actor, cancelled);
  await setTimers(trx, actor, set);
}
