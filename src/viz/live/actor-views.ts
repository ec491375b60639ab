/**
 * The durable actors as the live page shows them: each definition's chart, its instances counted by state,
 * and one instance's path read from its history. Every read is bounded in time and in rows, and a database
 * that does not answer is reported on the page as an error, never as a failed page.
 */
import type { AnyStateMachine } from 'xstate';
import { countInstancesByState } from '../../db/actor-view-queries.js';
import { readHistory } from '../../db/actor-history-queries.js';
import { readInstance } from '../../db/actor-instance-queries.js';
import type { QueryRunner } from '../../db/prepared.js';
import { describeError } from '../../policies/describe-error.js';
import type { MachineEntry } from '../charts/machines.js';
import type { ActorCounts, InstancePath } from './payload.js';

/** A durable actor definition and the database holding its instances, as the runtime passes it. */
export interface ActorView {
  readonly name: string;
  readonly service: string;
  readonly machine: AnyStateMachine;
  readonly db: QueryRunner;
}

/** How long a read of the page may take before it reports an error instead. */
export const actorReadTimeoutMs = 2_000;
/** The most history rows one path shows (the oldest first). */
export const pathLimit = 500;

/** The chart entry of an actor's machine, drawn like the runtime's own (its id keeps the actor apart). */
export function actorChartEntry(actor: ActorView): MachineEntry {
  return {
    id: actor.name,
    title: actor.name,
    summary: `Durable actor of the service ${actor.service}: one instance per id, counted by state.`,
    source: `service ${actor.service}`,
    machine: actor.machine,
    direction: 'DOWN',
  };
}

/** `work`, or a rejection naming what took longer than `ms`. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Instances in each state, ancestors included (as the delivery chart counts), from the state strings of
 * the rows (`a.b`, or parallel regions joined by commas).
 */
export function countsByPath(rows: readonly { readonly state: string; readonly count: number }[]) {
  const now: Record<string, number> = {};
  for (const { state, count } of rows) {
    const paths = new Set<string>();
    for (const leaf of state.split(',')) {
      const parts = leaf.split('.');
      parts.forEach((_part, index) => paths.add(parts.slice(0, index + 1).join('.')));
    }
    paths.forEach((path) => (now[path] = (now[path] ?? 0) + count));
  }
  return now;
}

/** One actor's counts, or the error that kept them from being read. */
export async function readActorCounts(actor: ActorView, timeoutMs = actorReadTimeoutMs): Promise<ActorCounts> {
  const base = { name: actor.name, service: actor.service, machine: actor.machine.id, at: Date.now() };
  try {
    const rows = await withTimeout(countInstancesByState(actor.db, actor.name), timeoutMs, 'counting instances');
    return { ...base, now: countsByPath(rows), instances: rows.reduce((sum, row) => sum + row.count, 0) };
  } catch (error) {
    return { ...base, now: {}, instances: 0, error: describeError(error) };
  }
}

/** One instance's row and its path (its history, oldest first, at most `pathLimit` steps), or undefined. */
export async function readInstancePath(
  actor: ActorView,
  instanceId: string,
  timeoutMs = actorReadTimeoutMs,
): Promise<InstancePath | undefined> {
  const read = async (): Promise<InstancePath | undefined> => {
    const instance = await readInstance(actor.db, actor.name, instanceId);
    if (!instance) return undefined;
    const history = await readHistory(actor.db, actor.name, instanceId, { limit: pathLimit + 1 });
    return {
      actor: actor.name,
      instance: {
        instanceId: instance.instanceId,
        state: instance.state,
        status: instance.status,
        rowVersion: instance.rowVersion,
        definitionVersion: instance.definitionVersion,
        createdAt: instance.createdAt.getTime(),
        updatedAt: instance.updatedAt.getTime(),
        closedAt: instance.closedAt?.getTime() ?? null,
      },
      path: history.slice(0, pathLimit).map((step) => ({
        event: step.eventType,
        from: step.fromState,
        to: step.toState,
        at: step.at.getTime(),
        messageId: step.messageId,
        published: step.published,
      })),
      truncated: history.length > pathLimit,
    };
  };
  return withTimeout(read(), timeoutMs, `reading instance ${instanceId}`);
}
