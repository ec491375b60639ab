import type { ColumnType } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

/** Messages this service has consumed and committed: the inbox that makes redeliveries harmless. */
export interface InboxTable {
  consumer: string;
  message_key: string;
  received_at: CreatedAt;
}

/** Messages to publish, written in the same transaction as the effects they announce. */
export interface OutboxTable {
  id: string;
  /** `''`: the default exchange. */
  exchange: ColumnType<string, string | undefined, string>;
  /** On the default exchange, the name of the queue. */
  routing_key: string;
  body: string;
  headers: ColumnType<Record<string, string | number | boolean> | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
  next_attempt_at: ColumnType<Date, Date | string, Date | string>;
  attempts: ColumnType<number, number | undefined, number>;
  sent_at: ColumnType<Date | null, never, Date | string | null>;
  last_error: string | null;
}

/** How often a message has failed, kept durably so the bound holds across redeliveries and crashes. */
export interface DeliveryAttemptsTable {
  consumer: string;
  message_key: string;
  attempts: number;
  last_error: string | null;
  /** The reasons of the latest attempts, oldest first (bounded: see `policies/delayed-retry.ts`). */
  reasons: ColumnType<string[], string[] | undefined, string[]>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface MessagingTables {
  inbox: InboxTable;
  outbox: OutboxTable;
  delivery_attempts: DeliveryAttemptsTable;
}
