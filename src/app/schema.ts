/** The tables of the user and card services (the runtime's own inbox, outbox and attempts are not here). */
import type { ColumnType } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

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

export interface UserServiceDatabase {
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

export interface CardServiceDatabase {
  users: CardServiceUsersTable;
  cards: CardServiceCardsTable;
}
