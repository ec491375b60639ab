/**
 * The reference's tables: the same shapes as ackstate's migrations (inbox, outbox, delivery_attempts,
 * users, cards), created with plain DDL at start-up. The bench creates the (empty) databases.
 */
import type pg from 'pg';

const messagingTables = `
CREATE TABLE IF NOT EXISTS inbox (
  consumer text NOT NULL, message_key text NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT inbox_pkey PRIMARY KEY (consumer, message_key));
CREATE TABLE IF NOT EXISTS outbox (
  id uuid PRIMARY KEY, queue text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
  next_attempt_at timestamptz NOT NULL, attempts integer NOT NULL DEFAULT 0, sent_at timestamptz, last_error text);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS delivery_attempts (
  consumer text NOT NULL, message_key text NOT NULL, attempts integer NOT NULL, last_error text,
  updated_at timestamptz NOT NULL DEFAULT now(), CONSTRAINT delivery_attempts_pkey PRIMARY KEY (consumer, message_key));
`;

export const userServiceSchema = `${messagingTables}
CREATE TABLE IF NOT EXISTS users (id uuid PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_unique ON users (lower(email));
CREATE TABLE IF NOT EXISTS cards (
  id uuid PRIMARY KEY, user_id uuid NOT NULL UNIQUE REFERENCES users (id), number text NOT NULL,
  created_at timestamptz NOT NULL, stored_at timestamptz NOT NULL DEFAULT now());
`;

export const cardServiceSchema = `${messagingTables}
CREATE TABLE IF NOT EXISTS users (
  id uuid PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS cards (
  id uuid PRIMARY KEY, user_id uuid NOT NULL UNIQUE REFERENCES users (id), number text NOT NULL,
  created_at timestamptz NOT NULL);
`;

export async function applySchema(pool: pg.Pool, ddl: string): Promise<void> {
  await pool.query(ddl);
}
