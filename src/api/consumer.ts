/**
 * A consumer, as data: the queue it reads, the schema of its messages, the inbox key, the handler, and
 * optionally its own settings. `defineConsumer` keeps the message type from the schema to the handler,
 * the key and the log lines; the runtime sees the definition with its type erased (`unknown` messages that
 * only ever come back to the functions that decoded them).
 */
import type { Transaction } from 'kysely';
import type { z } from 'zod';
import { describeIssues } from './describe-issues.js';
import type { Binding, Destination, Publisher } from './destination.js';
import { settingsOf, type ConsumerSettings } from './settings.js';
import { describeError } from '../policies/describe-error.js';

/**
 * What a handler may know of a delivery besides its body: where it was published and how.
 *
 * @example
 * ```ts
 * async handle(trx, event, out, delivery) {
 *   await trx.insertInto('audit_log').values({ routing_key: delivery.routingKey, body: JSON.stringify(event) }).execute();
 * }
 * ```
 */
export interface DeliveryInfo {
  /** The message id on the wire, when the producer set one. */
  readonly messageId: string | undefined;
  /** `''` for the default exchange. */
  readonly exchange: string;
  /** On the default exchange, the queue's name; on a topic exchange, the key it matched a binding with. */
  readonly routingKey: string;
  readonly headers: Readonly<Record<string, unknown>>;
  /** True when the broker delivered it before (the inbox makes a repeat harmless either way). */
  readonly redelivered: boolean;
}

/**
 * What a user writes to define a consumer. `Message` comes from `schema`; `Result` is whatever the
 * handler returns, handed to the `completed` log line.
 *
 * @example
 * ```ts
 * const issueCards = defineConsumer({
 *   queue: 'user_queue',
 *   schema: z.object({ id: z.uuid(), name: z.string() }),
 *   key: (user) => `user:${user.id}`,
 *   publishes: [{ queue: 'card_queue' }],
 *   async handle(trx: Transaction<CardDatabase>, user, out) {
 *     const card = { id: randomUUID(), user_id: user.id };
 *     await trx.insertInto('cards').values(card).execute();
 *     out.publish({ queue: 'card_queue' }, card);
 *     return card;
 *   },
 *   describe: { completed: (user, card) => `issued card ${card.id} to user ${user.id}` },
 * });
 * ```
 */
export interface ConsumerSpec<DB, Message, Result = void> extends ConsumerSettings {
  /** The queue to consume; declared durable by the runtime, with `<queue>.dead` beside it. */
  readonly queue: string;
  /** Names the consumer in logs, metrics and readiness; unique within its service. Defaults to the queue. */
  readonly name?: string;
  /** Validates each body (parsed as JSON). A body that fails it is poison: dead-lettered with the reason. */
  readonly schema: z.ZodType<Message>;
  /**
   * What the message is about (`user:<id>`): the inbox deduplicates by it, whatever the message id, so a
   * repeat published with a new id is still recognised. It also keys the durable attempt count.
   */
  key(message: Message): string;
  /**
   * The effect of one message, inside the runtime's transaction (inbox row, effect and outbox rows commit
   * together). Throw to fail the delivery: `PoisonMessageError` dead-letters it at once, an outage pauses
   * the consumer without counting an attempt, anything else is retried up to `maxAttempts`.
   */
  handle(trx: Transaction<DB>, message: Message, out: Publisher, delivery: DeliveryInfo): Promise<Result>;
  /**
   * Optional: the same effects as `handle` for several new messages of one batch at once (multi-row
   * statements), returning one result per message, in order. When it fails, the batch is split and each
   * message meets `handle` alone.
   */
  handleMany?(
    trx: Transaction<DB>,
    messages: readonly Message[],
    out: Publisher,
    deliveries: readonly DeliveryInfo[],
  ): Promise<readonly Result[]>;
  /** Exchanges this consumer's queue is bound to (declared with the bindings). */
  readonly bindings?: readonly Binding[];
  /** Destinations the handler publishes to, declared at start (consumed queues need no mention). */
  readonly publishes?: readonly Destination[];
  /** The human-readable log lines of each message; plain defaults naming the queue and key otherwise. */
  readonly describe?: {
    readonly received?: (message: Message) => string;
    readonly completed?: (message: Message, result: Result) => string;
  };
}

/** A decoded message: its inbox key and the value the schema produced, type erased. */
export type DecodedMessage =
  | { readonly ok: true; readonly key: string; readonly message: unknown }
  | { readonly ok: false; readonly reason: string };

/**
 * A consumer as the runtime holds it: made by `defineConsumer`, passed to `defineService`. Its functions
 * take the values its own `decode` produced.
 */
export interface Consumer<DB> {
  readonly queue: string;
  readonly name: string;
  readonly settings: ConsumerSettings;
  readonly bindings: readonly Binding[];
  readonly publishes: readonly Destination[];
  /** Validates a parsed JSON body and computes its key. */
  decode(body: unknown): DecodedMessage;
  handle(trx: Transaction<DB>, message: unknown, out: Publisher, delivery: DeliveryInfo): Promise<unknown>;
  readonly handleMany:
    | ((
        trx: Transaction<DB>,
        messages: readonly unknown[],
        out: Publisher,
        deliveries: readonly DeliveryInfo[],
      ) => Promise<readonly unknown[]>)
    | undefined;
  describeReceived(message: unknown): string;
  describeCompleted(message: unknown, result: unknown): string;
}

// Only the consumer's own decode produces the values its handlers receive: the casts below restore a type
// that was erased, never invent one.
const asMessage = <Message>(value: unknown) => value as Message;

/**
 * Defines a consumer. The message type flows from `schema` into `key`, `handle`, `handleMany` and
 * `describe`; annotate the handler's transaction (`trx: Transaction<MyDatabase>`) to type the tables.
 */
export function defineConsumer<DB, Message, Result = void>(spec: ConsumerSpec<DB, Message, Result>): Consumer<DB> {
  const { queue, schema, key, handle, handleMany, describe } = spec;
  return Object.freeze({
    queue,
    name: spec.name ?? queue,
    settings: settingsOf(spec),
    bindings: spec.bindings ?? [],
    publishes: spec.publishes ?? [],
    decode(body: unknown): DecodedMessage {
      const parsed = schema.safeParse(body);
      if (!parsed.success) return { ok: false, reason: `body fails validation: ${describeIssues(parsed.error)}` };
      let messageKey: string;
      try {
        messageKey = key(parsed.data);
      } catch (error) {
        return { ok: false, reason: `no key for the message: ${describeError(error)}` };
      }
      if (typeof messageKey !== 'string' || messageKey.length === 0) {
        return { ok: false, reason: 'no key for the message: key() returned an empty or non-string value' };
      }
      return { ok: true, key: messageKey, message: parsed.data };
    },
    handle: (trx: Transaction<DB>, message: unknown, out: Publisher, delivery: DeliveryInfo) =>
      handle(trx, asMessage<Message>(message), out, delivery),
    handleMany:
      handleMany &&
      ((trx: Transaction<DB>, messages: readonly unknown[], out: Publisher, deliveries: readonly DeliveryInfo[]) =>
        handleMany(trx, messages.map(asMessage<Message>), out, deliveries)),
    describeReceived: (message: unknown) =>
      describe?.received?.(asMessage<Message>(message)) ?? `Processing ${queue} message`,
    describeCompleted: (message: unknown, result: unknown) =>
      describe?.completed?.(asMessage<Message>(message), result as Result) ?? `Processed ${queue} message and acked it`,
  });
}
