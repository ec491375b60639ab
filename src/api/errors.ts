/**
 * A message addressed to a destination the runtime did not declare: neither a consumed queue nor one listed
 * in a `publishes` of the service or its consumers. Thrown by `out.publish` inside the transaction, so the
 * delivery fails (and is retried, then dead-lettered) instead of the broker refusing the message after the
 * commit.
 */
export class UndeclaredDestinationError extends Error {
  override name = 'UndeclaredDestinationError';
}
