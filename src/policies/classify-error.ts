import { describeError, errorCode } from './describe-error.js';

/**
 * Sorts a failure into what to do about it:
 * - `poison`: the message itself is at fault (not JSON, fails validation, breaks a constraint); retrying
 *   cannot help, so it is dead-lettered at once.
 * - `unavailable`: a dependency is unreachable (connection refused, reset, terminated, server shutting
 *   down); not the message's fault, so the attempt is not counted and the consumer pauses.
 * - `transient`: anything else (serialization failure, deadlock, a bug that may pass); retried with a
 *   growing delay and counted, so that a message failing every time ends in the dead-letter queue.
 */
export type FailureKind = 'poison' | 'unavailable' | 'transient';

export interface ClassifiedFailure {
  readonly kind: FailureKind;
  readonly reason: string;
  /**
   * A transient failure because the database did not answer in time (a statement or lock timeout). Across
   * several messages it is an outage that the write probe may not see, such as a lock on a service table.
   */
  readonly timedOut?: boolean;
}

/** Thrown for a message that can never be processed: the reason is recorded with the dead letter. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown (pg_terminate_backend, server stopping)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up)
  '28000', // invalid_authorization_specification: the service's role may not log in (credentials rotated)
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: the database does not exist (yet: a request while it is being created)
  '25006', // read_only_sql_transaction: a demoted primary after a failover, until the address follows the new one
]);

const timeoutCodes = new Set([
  '57014', // query_canceled: statement_timeout (or a cancel request)
  '55P03', // lock_not_available: lock_timeout
]);

const unavailableMessages = [
  /connection terminated/i,
  /terminating connection/i,
  /connection (is )?closed/i,
  /not queryable/i,
  /timeout exceeded when trying to connect/i,
  // pg's client-side query timeout (30 s, far beyond any statement timeout): the server did not answer at
  // all, as when the primary vanished without resetting its connections.
  /query read timeout/i,
  /the database system is (starting up|shutting down)/i,
  /socket hang up/i,
  /channel (is )?closed/i,
  /not connected/i,
];

export function classifyError(error: unknown): ClassifiedFailure {
  const reason = describeError(error);
  if (error instanceof PoisonMessageError) return { kind: 'poison', reason };
  const code = errorCode(error);
  if (code !== undefined) {
    // Class 08 (connection exception) and 53 (insufficient resources: disk full, out of memory, too many connections).
    if (unavailableCodes.has(code) || /^(08|53)/.test(code)) return { kind: 'unavailable', reason };
    if (timeoutCodes.has(code)) return { kind: 'transient', reason, timedOut: true };
    // Class 22 (data exception) and 23 (integrity constraint violation): the message's own data is wrong.
    if (/^2[23][0-9A-Z]{3}$/.test(code)) return { kind: 'poison', reason };
  }
  if (error instanceof AggregateError && error.errors.length > 0) {
    const inner = error.errors.map(classifyError);
    if (inner.every((failure) => failure.kind === 'unavailable')) return { kind: 'unavailable', reason };
  }
  if (error instanceof Error && unavailableMessages.some((pattern) => pattern.test(error.message))) {
    return { kind: 'unavailable', reason };
  }
  return { kind: 'transient', reason };
}
