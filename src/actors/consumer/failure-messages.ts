/**
 * The messages a failed delivery leaves as: a copy of it for a delay queue, whose TTL returns it to its queue
 * for its next attempt, or its dead letter. Both carry its body, content type and message id unchanged, and
 * the reasons of every attempt counted so far.
 */
import { randomUUID } from 'node:crypto';
import type { Delivery } from '../../machines/delivery.js';
import type { ClassifiedFailure } from '../../policies/classify-error.js';
import { deadLetterHeaders } from '../../policies/dead-letter.js';
import { attemptReasonsHeader, delayedFromHeader, delayQueueName } from '../../policies/delayed-retry.js';
import type { PublishRequest } from '../broker/publisher.js';
import { deadLetterQueue } from '../broker/topology.js';

/** Headers a delayed retry does not carry: the broker sets them again on the way back. */
const brokerSetHeaders = new Set([
  'x-delivery-count',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
]);

/** The delivery, for the delay queue of `delayMs`, naming where it was first published. */
export function delayedRetryOf(delivery: Delivery, delayMs: number, reasons: readonly string[]): PublishRequest {
  const carried = Object.fromEntries(Object.entries(delivery.headers).filter(([name]) => !brokerSetHeaders.has(name)));
  return {
    exchange: '',
    routingKey: delayQueueName(delivery.queue, delayMs),
    messageId: delivery.messageId ?? randomUUID(),
    body: delivery.content,
    ...(delivery.contentType !== undefined && { contentType: delivery.contentType }),
    headers: {
      ...carried,
      [delayedFromHeader.exchange]: delivery.exchange ?? '',
      [delayedFromHeader.routingKey]: delivery.routingKey ?? delivery.queue,
      [attemptReasonsHeader]: reasons,
    },
  };
}

/** The delivery's dead letter, for its queue's dead-letter queue, with why and by whom it was given up. */
export function deadLetterOf(
  delivery: Delivery,
  owner: { readonly service: string; readonly consumer: string },
  failure: ClassifiedFailure,
  attempts: number,
  reasons: readonly string[],
): PublishRequest {
  return {
    exchange: '',
    routingKey: deadLetterQueue(delivery.queue),
    messageId: delivery.messageId ?? randomUUID(),
    body: delivery.content,
    contentType: delivery.contentType ?? 'application/octet-stream',
    headers: deadLetterHeaders({ ...delivery, ...owner }, failure, attempts, new Date(), reasons),
  };
}
