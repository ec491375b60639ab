/**
 * An error a route throws to answer with a 4xx status and a reason: `{ "error": message }`. Any other
 * error is a 503 when a dependency is down, else a 500 that shows no internals.
 *
 * @example
 * ```ts
 * if (!found) throw new HttpError(404, `no user with id ${id}`);
 * ```
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}
