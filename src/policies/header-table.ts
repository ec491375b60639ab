/**
 * Whether a header table can be published again. amqplib encodes all of a message's properties into one
 * 64 KiB buffer, and refuses values it cannot type (a nested table with a `!` key). A dead letter that
 * carried such headers would fail to publish on every attempt, and the message would loop; the check
 * uses amqplib's own encoder, so it says exactly what the publish would.
 */
import { encodeTable } from 'amqplib/lib/codec.js';
import { describeError } from './describe-error.js';

/** amqplib's property buffer is 65,536 bytes; the rest of the properties (ids, content type) need some. */
export const maxHeaderTableBytes = 60 * 1024;
const scratch = Buffer.alloc(maxHeaderTableBytes);

/** `undefined` when the table encodes within the limit, otherwise why not. */
export function headerTableProblem(headers: Record<string, unknown>): string | undefined {
  try {
    encodeTable(scratch, headers, 0);
    return undefined;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_OUT_OF_RANGE' || error instanceof RangeError) return `over ${maxHeaderTableBytes} bytes encoded`;
    return `not encodable: ${describeError(error)}`;
  }
}
