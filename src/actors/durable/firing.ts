/**
 * The message that fires a durable timer: written to the outbox by the firing loop in the transaction that
 * claims the timer, consumed from the actor's timer queue.
 */
import { z } from 'zod';
import type { ClaimedTimer } from '../../db/actor-queries.js';

/** The body of a firing. */
export const firingSchema = z.strictObject({
  actor: z.string().min(1),
  instanceId: z.string().min(1),
  timerId: z.string().min(1),
  token: z.uuid(),
  event: z.looseObject({ type: z.string().min(1) }),
  dueAt: z.iso.datetime(),
});

/** A firing, as its body carries it. */
export type Firing = z.infer<typeof firingSchema>;

/** The firing of a claimed timer. */
export function firingOf(timer: ClaimedTimer): Firing {
  const { actor, instanceId, timerId, token } = timer;
  return { actor, instanceId, timerId, token, event: timer.event as Firing['event'], dueAt: timer.dueAt.toISOString() };
}
