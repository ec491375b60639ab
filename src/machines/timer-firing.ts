/**
 * The firing loop of one database's durable timers (`src/actors/durable/timer-firing.ts` provides its
 * sweep): it lives the outbox relay's life (a sweep on a timer, again at once while claims come back full,
 * slower while nothing is due, backing off when a sweep fails) under a name of its own, so that its log
 * lines, its metrics and its tile in `/viz` say what it is.
 *
 *   idle        ── after pollInterval, or KICK ──> sweeping
 *   sweeping    ── a full claim ──> sweeping;  done ──> idle;  failed ──> backingOff
 *   backingOff  ── after backoff ──> sweeping
 */
import { machineIds } from './names.js';
import { sweepingMachine } from './outbox-relay.js';

export const timerFiringMachine = sweepingMachine(machineIds.timerFiring);
