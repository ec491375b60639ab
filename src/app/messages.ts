/** The wire contract: the JSON bodies on `user_queue` and `card_queue`. */
import { z } from 'zod';
import { passesLuhn } from './card/card-number.js';

/**
 * No control characters and no lone surrogates: they are refused rather than stored, so names and emails
 * print safely and come back exactly as sent.
 */
const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // \p{Cc} is exactly U+0000–U+001F and U+007F–U+009F.
    .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters')
    // A lone UTF-16 surrogate (JSON allows "\ud800") has no UTF-8 form: PostgreSQL would store U+FFFD instead,
    // so what was stored would differ from what was sent.
    .refine((value) => !/\p{Cs}/u.test(value), 'must be well-formed Unicode (no lone surrogate)');

export const nameSchema = printable(200);
export const emailSchema = z.email().max(254).pipe(printable(254));
const timestamp = z.iso.datetime({ offset: true });

export const userMessageSchema = z.object({
  id: z.uuid(),
  name: nameSchema,
  email: emailSchema,
  created_at: timestamp,
});
export type UserMessage = z.infer<typeof userMessageSchema>;

export const cardMessageSchema = z.object({
  id: z.uuid(),
  user_id: z.uuid(),
  number: z
    .string()
    .regex(/^\d{16}$/, 'must be 16 digits')
    .refine(passesLuhn, 'must pass the Luhn check'),
  created_at: timestamp,
});
export type CardMessage = z.infer<typeof cardMessageSchema>;

/** The body of POST /users. Unknown fields are refused so that a typo is not silently ignored. */
export const createUserRequestSchema = z.strictObject({ name: nameSchema, email: emailSchema });
