/**
 * From an AMQP message to what the delivery machine decodes: the delivery (its properties checked, a delayed
 * retry's first destination restored) and each body parsed and validated by its consumer. A body that cannot
 * be read is poison, with the reason its dead letter will carry.
 */
import type { ConsumeMessage } from 'amqplib';
import type { Consumer } from '../../api/consumer.js';
import type { Decoded, DecodeResult, Delivery } from '../../machines/delivery.js';
import { describeError } from '../../policies/describe-error.js';
import { delayedFromHeader, returnedFromDelay } from '../../policies/delayed-retry.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** What the delivery machine needs of an AMQP message; back from a delay queue, it names where it was first published. */
export function toDelivery(queue: string, message: ConsumeMessage): Delivery {
  const { messageId, contentType, headers } = message.properties as {
    messageId?: unknown;
    contentType?: unknown;
    headers?: unknown;
  };
  const table = headers !== null && typeof headers === 'object' ? (headers as Record<string, unknown>) : {};
  // Back from a delay queue, it arrives from the default exchange: its handler sees where it was first published.
  const fromExchange = table[delayedFromHeader.exchange];
  const fromRoutingKey = table[delayedFromHeader.routingKey];
  const back =
    returnedFromDelay(table) &&
    message.fields.exchange === '' &&
    typeof fromExchange === 'string' &&
    typeof fromRoutingKey === 'string';
  return {
    queue,
    exchange: back ? fromExchange : message.fields.exchange,
    routingKey: back ? fromRoutingKey : message.fields.routingKey,
    deliveryTag: message.fields.deliveryTag,
    redelivered: message.fields.redelivered,
    messageId: typeof messageId === 'string' && messageId.length > 0 && messageId.length <= 255 ? messageId : undefined,
    contentType: typeof contentType === 'string' ? contentType : undefined,
    headers: table,
    content: message.content,
  };
}

type Poison = Extract<DecodeResult, { failure: unknown }>;

function decodeDelivery(delivery: Delivery, consumer: Consumer<unknown>, messageMaxBytes: number): Decoded | Poison {
  const poison = (reason: string): Poison => ({ failure: { kind: 'poison', reason }, error: reason, attempts: 1 });
  if (delivery.content.byteLength > messageMaxBytes) {
    return poison(`body of ${delivery.content.byteLength} bytes exceeds the limit of ${messageMaxBytes} bytes`);
  }
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(delivery.content));
  } catch (error) {
    return poison(`body is not JSON: ${describeError(error)}`);
  }
  // Deduplicated by what the message is about, not by its message id: a repeat published by a producer
  // that sets no id (the seed's) or a fresh id is still the same user or card.
  const decoded = consumer.decode(body);
  return decoded.ok ? { key: decoded.key, message: decoded.message } : poison(decoded.reason);
}

/** Every delivery of a batch decoded by its consumer, in order, or the first poison's reason. */
export function decodeBatch(
  deliveries: readonly Delivery[],
  consumer: Consumer<unknown>,
  messageMaxBytes: number,
): DecodeResult {
  const decoded: Decoded[] = [];
  for (const delivery of deliveries) {
    const result = decodeDelivery(delivery, consumer, messageMaxBytes);
    if ('failure' in result) return result;
    decoded.push(result);
  }
  return { decoded };
}
