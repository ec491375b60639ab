/**
 * Each message's outcome as the log tells it. A delivery that ran alone ends with a `transition` line to
 * `done` carrying its message id and outcome; the messages of a batch end with their own human-readable
 * lines, each carrying its message id and outcome (a batch's transition lines name delivery tags only).
 */
import type { LogLine } from './service-process.js';

export interface MessageOutcome {
  readonly queue: unknown;
  readonly messageId: unknown;
  readonly redelivered: unknown;
  readonly outcome: unknown;
}

export function messageOutcomes(logs: readonly LogLine[], queue?: string): MessageOutcome[] {
  return logs
    .filter((line) => queue === undefined || line.queue === queue)
    .filter((line) =>
      line.machine === 'delivery'
        ? line.to === 'done' && line.batch === undefined && line.outcome !== 'acked' && line.outcome !== 'duplicate'
        : line.outcome !== undefined && line.machine === undefined,
    )
    .map((line) => ({
      queue: line.queue,
      messageId: line.messageId,
      redelivered: line.redelivered,
      outcome: line.outcome,
    }));
}

/** The message ids whose processing began: each has its human-readable "received" line, alone or in a batch. */
export function receivedMessageIds(logs: readonly LogLine[], queue?: string): string[] {
  return logs
    .filter((line) => line.machine === undefined && line.deliveryTag !== undefined && line.outcome === undefined)
    .filter((line) => queue === undefined || line.queue === queue)
    .map((line) => String(line.messageId));
}
