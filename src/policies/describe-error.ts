/**
 * The one way an error becomes text in ackstate (log lines, dead-letter reasons, readiness checks, the
 * tool's output): its message and code, or the fields amqplib rejects with, and never a password.
 */
import { redact } from '../redact.js';

/** The `code` of an error (a Node.js errno name, a PostgreSQL SQLSTATE), when it has a string one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** An error as text, with its code when it has one, any password in it hidden. */
export function describeError(error: unknown): string {
  return redact(plainText(error));
}

function plainText(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error);
    return code ? `${error.message} (${code})` : error.message;
  }
  if (typeof error === 'object' && error !== null) {
    // amqplib rejects some operations on a closed channel with the close frame's fields, not an Error.
    const { message, replyText } = error as { message?: unknown; replyText?: unknown };
    const text = [message, replyText].find((value): value is string => typeof value === 'string');
    if (text !== undefined) return text;
    try {
      return JSON.stringify(error);
    } catch {
      return String(error);
    }
  }
  return String(error);
}
