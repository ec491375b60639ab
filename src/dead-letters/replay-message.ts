/**
 * What a replayed dead letter is published as: the original body, content type and message id, to the
 * original queue, with the runtime's dead-letter headers taken off and replay headers put on. The
 * original headers a dead letter carries (including earlier replay headers) are kept, so the replay count
 * grows across replay → dead letter → replay cycles.
 */
import type { Message, Options } from 'amqplib';
import { deadLetterHeader, replayHeader } from '../policies/dead-letter.js';

/** Where the broker itself dead-lettered the message from (a quorum queue's delivery limit, for one). */
const brokerFirstDeathQueue = 'x-first-death-queue';
/** Set by quorum queues on each delivery; it describes the dead-letter queue, not the message. */
const brokerDeliveryCount = 'x-delivery-count';
const removedHeaders = new Set<string>([...Object.values(deadLetterHeader), brokerDeliveryCount]);

export interface ReplayPublication {
  readonly queue: string;
  readonly content: Buffer;
  readonly options: Options.Publish & { readonly headers: Record<string, unknown> };
}

export interface ReplayContext {
  readonly deadLetterQueue: string;
  /** Where to publish when the dead letter does not name its original queue. */
  readonly fallbackQueue: string;
  readonly replayedAt: Date;
}

const nonEmptyText = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

function previousReplayCount(value: unknown): number {
  const count = typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : value;
  return typeof count === 'number' && Number.isSafeInteger(count) && count > 0 ? count : 0;
}

/** The original content type: the header says what it was (null: none); without the header, the property. */
function originalContentType(headers: Readonly<Record<string, unknown>>, property: unknown): string | undefined {
  if (deadLetterHeader.contentType in headers) return nonEmptyText(headers[deadLetterHeader.contentType]);
  return nonEmptyText(property);
}

export function replayPublication(
  deadLetter: Pick<Message, 'content' | 'properties'>,
  context: ReplayContext,
): ReplayPublication {
  const headers = (deadLetter.properties.headers ?? {}) as Record<string, unknown>;
  const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => !removedHeaders.has(name)));
  const contentType = originalContentType(headers, deadLetter.properties.contentType);
  // Without an original id the dead letter's own (a UUID the runtime gave it) still ties the two together.
  const messageId = nonEmptyText(headers[deadLetterHeader.messageId]) ?? nonEmptyText(deadLetter.properties.messageId);
  return {
    queue:
      nonEmptyText(headers[deadLetterHeader.queue]) ??
      nonEmptyText(headers[brokerFirstDeathQueue]) ??
      context.fallbackQueue,
    content: deadLetter.content,
    options: {
      persistent: true,
      mandatory: true,
      ...(contentType !== undefined && { contentType }),
      ...(messageId !== undefined && { messageId }),
      timestamp: Math.floor(context.replayedAt.getTime() / 1000),
      headers: {
        ...kept,
        [replayHeader.replayedAt]: context.replayedAt.toISOString(),
        [replayHeader.count]: previousReplayCount(headers[replayHeader.count]) + 1,
        [replayHeader.from]: context.deadLetterQueue,
      },
    },
  };
}
