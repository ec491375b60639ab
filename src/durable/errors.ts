import { PoisonMessageError } from '../policies/classify-error.js';

/**
 * A step the durable actor refuses to take: its machine did something a durable instance cannot keep (a
 * delayed event without an id, a context that is not plain JSON, a custom action, a child actor), or its
 * stored snapshot cannot be restored. The same snapshot and event fail the same way every time, so it is
 * a poison message: dead-lettered at once with this reason, not retried.
 */
export class ActorStepError extends PoisonMessageError {
  override name = 'ActorStepError';
}
