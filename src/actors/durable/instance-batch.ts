/**
 * The instances of one delivery's transaction: locked and loaded once (one `lockInstances` for the whole
 * batch), then stepped message after message in delivery order, each step seeing what the earlier ones of
 * the batch made of its instance. What is to be written is gathered here and written by `write-batch.ts`.
 */
import type { EventObject } from 'xstate';
import type { ActorDefinition, MissingInstancePolicy } from '../../api/actor.js';
import type { Publisher } from '../../api/destination.js';
import { lockInstances, type TransitionRecord } from '../../db/actor-queries.js';
import type { QueryRunner } from '../../db/prepared.js';
import type { ActorTimer } from '../../durable/effects.js';
import type { PersistedActorSnapshot, StoredActor } from '../../durable/snapshot.js';
import { stepActor, type AcceptedStep } from '../../durable/step.js';
import { PoisonMessageError } from '../../policies/classify-error.js';
import type { EventResult, IgnoredResult } from './results.js';

/** One message as an event for one instance. */
export interface ActorInput {
  readonly instanceId: string;
  readonly event: EventObject;
  readonly whenMissing: MissingInstancePolicy;
  /** The delivery's message id, for the history. */
  readonly messageId: string | null;
}

/** An instance as the batch sees it: its row before the batch, and what the steps so far made of it. */
export interface WorkingInstance {
  stored: StoredActor | undefined;
  /** It had a row when the batch locked it (an update), or not (an insert, if a step started it). */
  readonly existed: boolean;
  changed: boolean;
  state: string;
  done: boolean;
  /** The timers its steps set (a timer) or cancelled (null), by timer id; the last step's word counts. */
  readonly timers: Map<string, ActorTimer | null>;
}

/** The instances of a batch, by id, and the transitions to record, in order. */
export interface InstanceBatch {
  readonly definition: ActorDefinition;
  readonly instances: Map<string, WorkingInstance>;
  readonly history: TransitionRecord[];
  /** The steps' clock: timers are due relative to it. */
  readonly now: Date;
}

/** Locks and loads the instances of `ids` (one statement, whatever the batch's size). */
export async function loadBatch(trx: QueryRunner, definition: ActorDefinition, ids: Iterable<string>) {
  const unique = [...new Set(ids)];
  const rows = await lockInstances(trx, definition.name, unique);
  const instances = new Map<string, WorkingInstance>();
  for (const id of unique) {
    const row = rows.get(id);
    instances.set(id, {
      stored: row && { snapshot: row.snapshot as PersistedActorSnapshot, version: row.definitionVersion },
      existed: row !== undefined,
      changed: false,
      state: row?.state ?? '',
      done: row?.status === 'done',
      timers: new Map(),
    });
  }
  return { definition, instances, history: [], now: new Date() } satisfies InstanceBatch;
}

/**
 * Applies one message to its instance (loaded by `loadBatch`), publishing through `out`. An event the
 * instance does not take, or one for a missing instance that does not start it, follows `whenMissing`:
 * ignored (the result says why) or dead-lettered (a `PoisonMessageError` with the reason).
 */
export function stepInBatch(batch: InstanceBatch, input: ActorInput, out: Publisher): EventResult {
  const { definition } = batch;
  const instance = batch.instances.get(input.instanceId)!;
  if (instance.stored === undefined && input.whenMissing !== 'start') {
    return refuse(batch, input, `no instance ${input.instanceId} of ${definition.name}`, input.whenMissing);
  }
  const step = stepActor(definition, instance.stored, input.event, { now: batch.now });
  if (!step.accepted) {
    // A start source's event for an instance that exists already is a repeated start: it changes nothing.
    const existing = instance.stored !== undefined && input.whenMissing === 'start';
    return refuse(batch, input, step.reason, existing ? 'ignore' : input.whenMissing);
  }
  const published = step.publications.map(({ destination, body, options }) => out.publish(destination, body, options));
  keep(instance, step);
  batch.history.push({
    instanceId: input.instanceId,
    eventType: input.event.type,
    fromState: step.from ?? null,
    toState: step.state,
    messageId: input.messageId,
    published,
  });
  return {
    outcome: step.started ? 'started' : 'applied',
    actor: definition.name,
    instanceId: input.instanceId,
    event: input.event.type,
    from: step.from,
    to: step.state,
    done: step.done,
    published,
  };
}

function refuse(batch: InstanceBatch, input: ActorInput, reason: string, policy: MissingInstancePolicy): IgnoredResult {
  const what = `${input.event.type} for ${batch.definition.name} ${input.instanceId}`;
  // `start` here is an event that would start the instance but that its initial state does not take.
  if (policy !== 'ignore') throw new PoisonMessageError(`${what}: ${reason}`);
  return {
    outcome: 'ignored',
    actor: batch.definition.name,
    instanceId: input.instanceId,
    event: input.event.type,
    reason,
  };
}

function keep(instance: WorkingInstance, step: AcceptedStep): void {
  // Read back as the next transaction would read it from its row: as JSON.
  const snapshot = JSON.parse(JSON.stringify(step.snapshot)) as PersistedActorSnapshot;
  instance.stored = { snapshot, version: step.version };
  instance.changed = true;
  instance.state = step.state;
  instance.done = step.done;
  for (const id of step.timersToCancel) instance.timers.set(id, null);
  for (const timer of step.timersToSet) instance.timers.set(timer.id, timer);
}
