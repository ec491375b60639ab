/**
 * The two steps every delivery takes, `persist` and `publish`, as entry actions that start the work and
 * answer the machine with an event (`answeredBy()`): what an invoked promise actor does, without an actor.
 */
import type { DeliveryContext, DeliveryEvent, PersistInput, Persisted, PublishInput } from './delivery-types.js';

/** What an action made by `answeredBy()` reads of its arguments. */
interface StepArgs {
  readonly context: DeliveryContext;
  readonly self: { send(event: DeliveryEvent): void };
}

/**
 * An entry action that starts `run` and answers the machine with the event `done` or `failed` makes of its
 * outcome: what an invoked promise actor does, without an actor. A `run` that throws is a failure too.
 */
function answeredBy<Input, Output>(
  inputOf: (context: DeliveryContext) => Input,
  done: (output: Output) => DeliveryEvent,
  failed: (error: unknown) => DeliveryEvent,
) {
  return (run: (input: Input) => Promise<Output>) =>
    ({ context, self }: StepArgs): void => {
      let running: Promise<Output>;
      try {
        running = run(inputOf(context));
      } catch (error) {
        running = Promise.reject(error);
      }
      running.then(
        (output) => self.send(done(output)),
        (error: unknown) => self.send(failed(error)),
      );
    };
}

/**
 * The `persist` action, from the function that runs the batch's transaction (BEGIN to COMMIT).
 *
 * @example
 * ```ts
 * deliveryMachine.provide({
 *   actions: { persist: persistStep(({ deliveries, decoded }) => persistBatch(options, deliveries, decoded)) },
 * });
 * ```
 */
export const persistStep = answeredBy<PersistInput, Persisted>(
  ({ deliveries, decoded }) => ({ deliveries, decoded }),
  (output) => ({ type: 'PERSISTED', output }),
  (error) => ({ type: 'PERSIST_FAILED', error }),
);

/** The `publish` action, from the function that publishes the committed outbox rows (with confirms). */
export const publishStep = answeredBy<PublishInput, void>(
  ({ outgoing }) => ({ outgoing }),
  () => ({ type: 'PUBLISHED' }),
  (error) => ({ type: 'PUBLISH_FAILED', error }),
);
