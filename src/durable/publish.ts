/**
 * How a durable actor's machine sends messages: `publish(...)` in its actions. It is XState's `emit` with
 * an event the step recognises, so `transition()` hands it back among the actions without executing
 * anything; the runtime writes each publication to the outbox in the step's transaction.
 */
import { emit, type ActionFunction, type EventObject, type MachineContext, type ParameterizedObject } from 'xstate';
import type { Destination, PublishOptions } from '../api/destination.js';

/** The type of the emitted event that carries a publication. */
export const publicationEventType = 'ackstate.publish';

/**
 * A message a step publishes: the arguments of `Publisher.publish`, in the order the actions ran.
 *
 * @example
 * ```ts
 * for (const { destination, body, options } of step.publications) out.publish(destination, body, options);
 * ```
 */
export interface Publication {
  readonly destination: Destination;
  readonly body: unknown;
  readonly options: PublishOptions | undefined;
}

/** The event `publish` emits; other emitted events are ignored by durable actors (no one listens). */
export interface PublicationEvent extends Publication {
  readonly type: typeof publicationEventType;
}

/** What a body computed from the transition sees: the context before the action, and the event. */
export interface PublishArgs<TContext extends MachineContext, TEvent extends EventObject> {
  readonly context: TContext;
  readonly event: TEvent;
}

/**
 * An action that publishes a message through the outbox: to `destination` (declared in the actor's
 * `publishes`, or a consumed queue), with `body` as it is, or computed from the context and the event.
 * Nothing is sent by the machine itself: the step collects the publication, the runtime writes it in the
 * transaction of the step, and it is sent once that commits.
 *
 * @example
 * ```ts
 * const machine = setup({ types: { context: {} as { cardId: string }, events: {} as CardEvent } }).createMachine({
 *   context: { cardId: '' },
 *   initial: 'waiting',
 *   states: {
 *     waiting: { after: { [twoDays]: 'reminded' } },
 *     reminded: {
 *       entry: publish({ queue: 'email_queue' }, ({ context }) => ({ template: 'activate-card', cardId: context.cardId })),
 *     },
 *   },
 * });
 * ```
 */
export function publish<
  TContext extends MachineContext,
  TExpressionEvent extends EventObject,
  TParams extends ParameterizedObject['params'] | undefined,
  TEvent extends EventObject,
>(
  destination: Destination,
  body: PublishBody<TContext, TExpressionEvent>,
  options?: PublishOptions,
): PublishAction<TContext, TExpressionEvent, TParams, TEvent> {
  return emit(({ context, event }: PublishArgs<TContext, TExpressionEvent>) => ({
    type: publicationEventType,
    destination,
    body: typeof body === 'function' ? body({ context, event }) : body,
    options,
  }));
}

/** A body as it is (sent as JSON), or computed from the context and the event of the transition. */
export type PublishBody<TContext extends MachineContext, TEvent extends EventObject> =
  ((args: PublishArgs<TContext, TEvent>) => unknown) | object | string | number | boolean | null;

/** The action `publish` returns, as XState types an `emit` of a `PublicationEvent`. */
export type PublishAction<
  TContext extends MachineContext,
  TExpressionEvent extends EventObject,
  TParams extends ParameterizedObject['params'] | undefined,
  TEvent extends EventObject,
> = ActionFunction<TContext, TExpressionEvent, TEvent, TParams, never, never, never, never, PublicationEvent>;
