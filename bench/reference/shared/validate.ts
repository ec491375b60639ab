/** Hand-written checks equivalent to ackstate's zod schemas for the fields the pipeline carries. */
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const email = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const control = /\p{Cc}/u; // U+0000–U+001F and U+007F–U+009F
const isoWithZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const text = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length >= 1 && value.length <= max && !control.test(value);

export interface NewUser {
  readonly name: string;
  readonly email: string;
}
export interface UserMessage extends NewUser {
  readonly id: string;
  readonly created_at: string;
}
export interface CardMessage {
  readonly id: string;
  readonly user_id: string;
  readonly number: string;
  readonly created_at: string;
}

const record = (body: unknown): Record<string, unknown> | undefined =>
  body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;

export function newUser(body: unknown): NewUser | undefined {
  const value = record(body);
  if (!value || Object.keys(value).length !== 2) return undefined;
  if (!text(value.name, 200) || !text(value.email, 254) || !email.test(value.email)) return undefined;
  return { name: value.name, email: value.email };
}

export function userMessage(body: unknown): UserMessage | undefined {
  const value = record(body);
  if (!value || typeof value.id !== 'string' || !uuid.test(value.id)) return undefined;
  if (!text(value.name, 200) || !text(value.email, 254) || !email.test(value.email)) return undefined;
  if (typeof value.created_at !== 'string' || !isoWithZone.test(value.created_at)) return undefined;
  return { id: value.id, name: value.name, email: value.email, created_at: value.created_at };
}

export function cardMessage(body: unknown): CardMessage | undefined {
  const value = record(body);
  if (!value || typeof value.id !== 'string' || !uuid.test(value.id)) return undefined;
  if (typeof value.user_id !== 'string' || !uuid.test(value.user_id)) return undefined;
  if (typeof value.number !== 'string' || !/^\d{16}$/.test(value.number)) return undefined;
  if (typeof value.created_at !== 'string' || !isoWithZone.test(value.created_at)) return undefined;
  return { id: value.id, user_id: value.user_id, number: value.number, created_at: value.created_at };
}
