/**
 * What a service is to the runtime: data. It names the queue it consumes, the schema of its messages, a
 * handler that turns one message into effects and outgoing messages inside the runtime's transaction,
 * and the human-readable log lines. The runtime owns everything else: parsing, the inbox, the outbox,
 * ack/nack, retries and dead-lettering.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely, Migration, Transaction } from 'kysely';
import type { z } from 'zod';
import type { OutgoingMessage } from './db/messaging-queries.js';
import type { MessagingTables } from './db/schema.js';

export interface HandlerResult {
  readonly outgoing: readonly OutgoingMessage[];
  /** Facts about the effect, for the summary log line (for example the card issued). */
  readonly result?: unknown;
}

export interface ConsumerSpec<DB, Message> {
  readonly queue: string;
  readonly schema: z.ZodType<Message>;
  /** What the message is about (a user's id, a card's id): the inbox deduplicates by it, whatever the message id. */
  naturalKey(message: Message): string;
  handle(trx: Transaction<DB>, message: Message): Promise<HandlerResult>;
  /**
   * Optional: the same as `handle` for several new messages of one batch in one go (multi-row statements
   * instead of a round trip each), returning one result per message, in order. It must have the effects
   * `handle` would have had for each; when it fails, the batch is split and each message meets `handle` alone.
   */
  handleMany?(trx: Transaction<DB>, messages: readonly Message[]): Promise<readonly HandlerResult[]>;
  readonly describe: {
    received(message: Message): string;
    completed(message: Message, result: unknown): string;
  };
}

export interface ServiceContext<DB> {
  readonly db: Kysely<DB>;
  /** Publishes committed outbox rows now; whatever fails stays for the relay. Never throws. */
  publishNow(messages: readonly OutgoingMessage[]): void;
}

export interface ServiceSpec<DB extends MessagingTables> {
  readonly name: 'user' | 'card';
  readonly databaseUrl: string;
  readonly migrations: Record<string, Migration>;
  // The runtime treats every consumer alike; each service's own module keeps its message type.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly consumer: ConsumerSpec<DB, any>;
  readonly routes?: (app: FastifyInstance, context: ServiceContext<DB>) => void;
}
