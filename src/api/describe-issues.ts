import type { z } from 'zod';

/**
 * One line per problem of a failed zod check, each naming its field (`email: Invalid email address`), joined
 * by `; `: the reason the runtime records with a dead letter, and a route can answer with a 400.
 *
 * @example
 * ```ts
 * const parsed = schema.safeParse(request.body);
 * if (!parsed.success) throw new HttpError(400, describeIssues(parsed.error));
 * ```
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}
