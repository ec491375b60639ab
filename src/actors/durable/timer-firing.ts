/**
 * The firing loop of one database's durable timers. Each sweep claims due timers (SKIP LOCKED: loops of
 * other processes claim others) and, in the same transaction, writes each one's firing to the outbox,
 * addressed to its actor's timer queue: a claim is never committed without its firing, and the outbox
 * sends it (at least once; the timer queue's inbox and the timer's token let it act once). It runs as the
 * outbox relay's machine does: a sweep every `pollMs`, at once again when a claim came back full.
 */
import type { Kysely } from 'kysely';
import { fromPromise } from 'xstate';
import { claimDueTimers } from '../../db/actor-queries.js';
import { insertOutbox, messagingTablesOf } from '../../db/messaging-queries.js';
import { transact } from '../../db/transactions.js';
import type { SweepResult } from '../../machines/outbox-relay.js';
import { timerFiringMachine } from '../../machines/timer-firing.js';
import type { Outbox } from '../outbox/outbox-relay.js';
import { OutgoingMessages, type DeclaredDestinations } from '../outbox/outgoing.js';
import { firingOf } from './firing.js';

/** How often the loop looks for due timers: the usual lag of a firing, besides its delivery. */
export const timerPollMs = 250;
const claimBatch = 500;

export interface TimerFiringOptions {
  readonly db: Kysely<unknown>;
  readonly outbox: Outbox;
  readonly destinations: DeclaredDestinations;
  /** The timer queue of each actor whose timers this loop fires (by actor name). */
  readonly timerQueues: ReadonlyMap<string, string>;
}

/**
 * One sweep: up to a batch of due timers claimed and their firings written. A claim is never released: it
 * commits with its firing's outbox row, so a crash loses neither, and a firing that was dead-lettered stays
 * claimed (released, it would fire again and again); `ackstate dlq replay` brings such a firing back.
 */
export async function fireDueTimers(options: TimerFiringOptions): Promise<SweepResult> {
  const { db, outbox, destinations, timerQueues } = options;
  const out = new OutgoingMessages(destinations);
  const claimed = await transact(db, async (trx) => {
    const due = await claimDueTimers(trx, claimBatch, [...timerQueues.keys()]);
    for (const timer of due) out.publish({ queue: timerQueues.get(timer.actor)! }, firingOf(timer));
    await insertOutbox(messagingTablesOf(trx), out.messages, outbox.leaseMs);
    return due.length;
  });
  outbox.publishNow(out.messages);
  return { claimed, published: claimed, more: claimed === claimBatch };
}

/** The loop as a supervised child: the timer-firing machine, sweeping with `fireDueTimers`. */
export function timerFiringLogic(options: TimerFiringOptions) {
  return timerFiringMachine.provide({
    actors: { sweep: fromPromise<SweepResult>(() => fireDueTimers(options)) },
    delays: { pollInterval: timerPollMs },
  });
}
