/** The wire contract of the example: the body of POST /accounts and the events on the topic exchange. */
import { z } from 'zod';

/** The body of POST /accounts. Unknown fields are refused, so that a typo is not silently ignored. */
export const createAccountRequestSchema = z.strictObject({ email: z.email().max(254) });

/** Published with routing key `account.created` when an account is stored. */
export const accountCreatedSchema = z.object({
  type: z.literal('account.created'),
  id: z.uuid(),
  email: z.email(),
  created_at: z.iso.datetime({ offset: true }),
});
export type AccountCreated = z.infer<typeof accountCreatedSchema>;

/**
 * Any account event, as the audit log reads it: its type (which is also its routing key) and the account
 * it is about; the rest of the body is kept as it came.
 */
export const accountEventSchema = z.looseObject({
  type: z.string().regex(/^account\.[a-z_]+$/, 'must be account.<event>'),
  id: z.uuid(),
});
export type AccountEvent = z.infer<typeof accountEventSchema>;
