/**
 * Replays dead letters: each selected one is published again (src/dead-letters/replay-message.ts)
 * and removed only after the broker confirmed that publish. Everything else read from the queue, and every
 * dead letter whose publish failed, is returned to the queue at the end, in order.
 *
 * Only as many dead letters as the queue held at the start are read: a replayed message that fails again
 * comes back to the tail of the same queue, and must not be replayed again in the same run.
 */
import type { ChannelModel } from 'amqplib';
import { ConfirmedPublisher, PublishFailedError } from './confirmed-publisher.js';
import { describeError } from '../policies/describe-error.js';
import { checkDeadLetterQueue, DeadLetterHold, type HeldDeadLetter } from './queue.js';
import { replayPublication, type ReplayPublication } from './replay-message.js';

export type Selection =
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  | { readonly kind: 'all' }
  | { readonly kind: 'first'; readonly count: number };

export interface ReplayRequest {
  readonly queue: string;
  readonly selection: Selection;
  readonly replayedAt: Date;
  readonly publishTimeoutMs: number;
  /** Called once the number selected is known (for ids: how many ids were asked for). */
  readonly onStart?: (selected: number) => void;
  readonly onProgress?: (counts: { readonly replayed: number; readonly failed: number }) => void;
}

export interface ReplayedDeadLetter {
  readonly position: number;
  readonly messageId: string | null;
  readonly queue: string;
}

export interface FailedReplay extends ReplayedDeadLetter {
  readonly reason: string;
}

export interface ReplayOutcome {
  readonly deadLetterQueue: string;
  readonly replayedAt: Date;
  readonly replayed: readonly ReplayedDeadLetter[];
  readonly failed: readonly FailedReplay[];
  /** Ids asked for with --id that no dead letter had. */
  readonly notFound: readonly string[];
  /** Set when the run stopped early (channel lost, outcome unknown); the rest stayed in the queue. */
  readonly stoppedBecause: string | undefined;
}

const messageIdOf = (letter: HeldDeadLetter) =>
  typeof letter.message.properties.messageId === 'string' ? (letter.message.properties.messageId as string) : null;

export async function replayDeadLetters(connection: ChannelModel, request: ReplayRequest): Promise<ReplayOutcome> {
  const { deadLetterQueue, messageCount } = await checkDeadLetterQueue(connection, request.queue);
  const { selection } = request;
  const wanted = selection.kind === 'ids' ? new Set(selection.ids) : undefined;
  const found = new Set<string>();
  const limit = selection.kind === 'first' ? Math.min(selection.count, messageCount) : messageCount;
  request.onStart?.(selection.kind === 'ids' ? selection.ids.length : limit);

  const replayed: ReplayedDeadLetter[] = [];
  const failed: FailedReplay[] = [];
  let stoppedBecause: string | undefined;
  const publisher = await ConfirmedPublisher.open(connection, request.publishTimeoutMs);
  const hold = await DeadLetterHold.open(connection, deadLetterQueue);
  try {
    for (let read = 0; read < messageCount && replayed.length + failed.length < limit; read += 1) {
      let letter: HeldDeadLetter | undefined;
      try {
        letter = await hold.take();
      } catch (error) {
        stoppedBecause = `reading ${deadLetterQueue} failed: ${describeError(error)}`;
        break;
      }
      if (letter === undefined) break;
      const messageId = messageIdOf(letter);
      if (wanted !== undefined && (messageId === null || !wanted.has(messageId))) continue;
      if (messageId !== null) found.add(messageId);
      const publication = replayPublication(letter.message, {
        deadLetterQueue,
        fallbackQueue: request.queue,
        replayedAt: request.replayedAt,
      });
      const target = { position: letter.position, messageId, queue: publication.queue };
      const problem = await publishThenRemove(publisher, hold, letter, publication);
      if (problem === undefined) replayed.push(target);
      else failed.push({ ...target, reason: problem.reason });
      request.onProgress?.({ replayed: replayed.length, failed: failed.length });
      if (problem?.stopsTheRun) {
        stoppedBecause = problem.reason;
        break;
      }
    }
  } finally {
    await hold.release();
    await publisher.close();
  }
  const notFound = wanted === undefined ? [] : [...wanted].filter((id) => !found.has(id));
  return { deadLetterQueue, replayedAt: request.replayedAt, replayed, failed, notFound, stoppedBecause };
}

/** Undefined when the dead letter was published, confirmed and removed; otherwise what went wrong. */
async function publishThenRemove(
  publisher: ConfirmedPublisher,
  hold: DeadLetterHold,
  letter: HeldDeadLetter,
  publication: ReplayPublication,
): Promise<{ readonly reason: string; readonly stopsTheRun: boolean } | undefined> {
  try {
    await publisher.publish(publication);
  } catch (error) {
    return { reason: describeError(error), stopsTheRun: !(error instanceof PublishFailedError) || error.stopsTheRun };
  }
  try {
    hold.remove(letter);
    return undefined;
  } catch (error) {
    return {
      reason: `published and confirmed, but the dead letter could not be removed (${describeError(error)}); replaying it again is absorbed by the inbox`,
      stopsTheRun: true,
    };
  }
}
