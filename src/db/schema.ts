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
  queue: string;
  body: string;
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
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface MessagingTables {
  inbox: InboxTable;
  outbox: OutboxTable;
  delivery_attempts: DeliveryAttemptsTable;
}

export interface UserServiceUsersTable {
  id: string;
  name: string;
  email: string;
  created_at: ColumnType<Date, Date | string, never>;
}

export interface UserServiceCardsTable {
  id: string;
  user_id: string;
  number: string;
  created_at: ColumnType<Date, Date | string, never>;
  stored_at: CreatedAt;
}

export interface UserServiceDatabase extends MessagingTables {
  users: UserServiceUsersTable;
  cards: UserServiceCardsTable;
}

export interface CardServiceUsersTable {
  id: string;
  name: string;
  email: string;
  created_at: ColumnType<Date, Date | string, never>;
  received_at: CreatedAt;
}

export interface CardServiceCardsTable {
  id: string;
  user_id: string;
  number: string;
  created_at: ColumnType<Date, Date | string, never>;
}

export interface CardServiceDatabase extends MessagingTables {
  users: CardServiceUsersTable;
  cards: CardServiceCardsTable;
}

export type AnyServiceDatabase = UserServiceDatabase | CardServiceDatabase;
