/** The services' per-message statements (see prepared.ts for why they are SQL text). */
import { prepared } from './prepared.js';

type UserRow = readonly [id: string, name: string, email: string, createdAt: string];
type CardRow = readonly [id: string, userId: string, number: string, createdAt: string];

/** User service: a new user, created over HTTP. */
export const insertUser = prepared<never, UserRow>('INSERT INTO users (id, name, email, created_at) VALUES ($1, $2, $3, $4)');

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
