/** The services' per-message statements, as SQL text (`prepared`: no query tree built per message). */
import { prepared, type QueryRunner } from 'ackstate';

type UserRow = readonly [id: string, name: string, email: string, createdAt: string];
type CardRow = readonly [id: string, userId: string, number: string, createdAt: string];

/** User service: the card issued for a user; a repeat of the same card changes nothing. */
export const storeCard = prepared<never, CardRow>(
  'INSERT INTO cards (id, user_id, number, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
);

/** Card service: the user a card is issued for; a repeat changes nothing. */
export const recordUser = prepared<never, UserRow>(
  'INSERT INTO users (id, name, email, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
);

/** Card service: the user's one card; no row comes back when the user already has one. */
export const issueCard = prepared<{ id: string }, CardRow>(
  'INSERT INTO cards (id, user_id, number, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING RETURNING id',
);

/*
 * Statements for a batch of rows (users created together, the messages of a batch): one statement each, the rows passed as parallel arrays
 * and expanded by unnest(), so that a batch of any size is one round trip per statement.
 */
type Columns<Row extends readonly unknown[]> = { readonly [K in keyof Row]: readonly Row[K][] };

const userColumns = (rows: readonly UserRow[]): Columns<UserRow> => [
  rows.map((row) => row[0]),
  rows.map((row) => row[1]),
  rows.map((row) => row[2]),
  rows.map((row) => row[3]),
];
const cardColumns = (rows: readonly CardRow[]): Columns<CardRow> => [
  rows.map((row) => row[0]),
  rows.map((row) => row[1]),
  rows.map((row) => row[2]),
  rows.map((row) => row[3]),
];

const createUserRows = prepared<{ id: string }, Columns<UserRow>>(
  'INSERT INTO users (id, name, email, created_at) ' +
    'SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT DO NOTHING RETURNING id',
);
const storeCardRows = prepared<never, Columns<CardRow>>(
  'INSERT INTO cards (id, user_id, number, created_at) ' +
    'SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) ON CONFLICT (id) DO NOTHING',
);
const recordUserRows = prepared<never, Columns<UserRow>>(
  'INSERT INTO users (id, name, email, created_at) ' +
    'SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) ON CONFLICT (id) DO NOTHING',
);
const issueCardRows = prepared<{ id: string; user_id: string }, Columns<CardRow>>(
  'INSERT INTO cards (id, user_id, number, created_at) ' +
    'SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[]) ON CONFLICT (user_id) DO NOTHING RETURNING id, user_id',
);

/**
 * User service: new users, created over HTTP; returns the ids inserted. A user whose email is already
 * taken (by an earlier user or by another row of the same statement) is skipped, not an error.
 */
export const createUsers = (db: QueryRunner, rows: readonly UserRow[]) => createUserRows(db, ...userColumns(rows));

/** User service: several cards at once (see storeCard). */
export const storeCards = (db: QueryRunner, rows: readonly CardRow[]) => storeCardRows(db, ...cardColumns(rows));

/** Card service: several users at once (see recordUser). */
export const recordUsers = (db: QueryRunner, rows: readonly UserRow[]) => recordUserRows(db, ...userColumns(rows));

/** Card service: one card each for several users (see issueCard); returns the rows actually issued. */
export const issueCards = (db: QueryRunner, rows: readonly CardRow[]) => issueCardRows(db, ...cardColumns(rows));
