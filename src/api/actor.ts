/**
 * A durable actor, as data: an XState machine run as one long-lived instance per id, the messages that
 * become its events, and its version. `defineActor(machine).with(spec)` keeps the machine's event type and
 * each source's message type (from its schema) exact; the runtime sees the definition with those types
 * erased, as it does consumers.
 */
import type { AnyStateMachine, EventFromLogic, EventObject } from 'xstate';
import type { z } from 'zod';
import { describeIssues } from './describe-issues.js';
import type { Destination, Exchange } from './destination.js';
import { OptionsError } from './options.js';
import { jsonProblem } from '../durable/json.js';
import { machineProblem } from '../durable/machine-checks.js';
import { labelOf } from '../durable/origin.js';
import type { PersistedActorSnapshot } from '../durable/snapshot.js';
import { brokerNameProblem } from '../policies/broker-names.js';
import { describeError } from '../policies/describe-error.js';

/**
 * What happens to an event for an instance that does not exist (or that no transition of its current state
 * takes): `start` creates the instance, `ignore` drops the event with one log line, `dead-letter` sets it
 * aside with the reason.
 */
export type MissingInstancePolicy = 'start' | 'ignore' | 'dead-letter';

/** Where an actor's events come from: a queue, or an exchange with a routing key (a binding's pattern). */
export type ActorEventOrigin =
  { readonly queue: string } | { readonly exchange: Exchange; readonly routingKey?: string };

/**
 * One source of an actor's events: where the messages come from, their schema, the instance each is for,
 * and the machine event it becomes.
 *
 * @example
 * ```ts
 * { queue: 'card_queue', schema: cardMessage, id: (card) => card.id, starts: true,
 *   event: (card) => ({ type: 'card.issued', card }) }
 * ```
 */
export type ActorEventSourceSpec<TMachine extends AnyStateMachine, Message> = ActorEventOrigin & {
  /** Validates each body (parsed as JSON). A body that fails it is poison: dead-lettered with the reason. */
  readonly schema: z.ZodType<Message>;
  /** The instance the message is for (its correlation id): a non-empty string. */
  id(message: Message): string;
  /** The machine event the message becomes; plain JSON, since the instance's history keeps it. */
  event(message: Message): EventFromLogic<TMachine>;
  /** A missing instance is created by this event: the same as `whenMissing: 'start'`. */
  readonly starts?: boolean;
  /** For an event whose instance is missing. Default `start` when `starts`, `dead-letter` otherwise. */
  readonly whenMissing?: MissingInstancePolicy;
  /**
   * The inbox key of the message, for events that legitimately repeat for one instance (a payment attempt,
   * a reminder): a message with a key the inbox holds is a duplicate and changes nothing. By default the
   * key is the actor, the source and the instance id, so a repeat of the event for one instance is dropped.
   */
  key?(message: Message): string;
};

/**
 * What a user writes to define a durable actor, once the machine is given: `Messages` holds each source's
 * message type, inferred from its schema.
 *
 * @example
 * ```ts
 * const activation = defineActor(cardActivationMachine).with({
 *   name: 'card-activation',
 *   version: 1,
 *   events: [
 *     { queue: 'card_queue', schema: cardMessage, id: (card) => card.id, starts: true,
 *       event: (card) => ({ type: 'card.issued', card }) },
 *     { exchange: cardsExchange, routingKey: 'card.activated', schema: activated, id: (m) => m.cardId,
 *       event: () => ({ type: 'card.activated' }), whenMissing: 'dead-letter' },
 *   ],
 *   publishes: [{ queue: 'email_queue' }],
 * });
 * ```
 */
export interface ActorSpec<TMachine extends AnyStateMachine, Messages extends readonly unknown[]> {
  /** Names the actor in tables, logs, metrics and the tool: a letter, then letters, digits, `_` and `-`. */
  readonly name: string;
  /** The definition's version, a positive integer: each instance keeps the version it runs. */
  readonly version: number;
  /** The messages that become events, at least one; none listed twice. */
  readonly events: { readonly [K in keyof Messages]: ActorEventSourceSpec<TMachine, Messages[K]> };
  /** Destinations the machine's `publish` actions send to, declared at start (consumed queues need no mention). */
  readonly publishes?: readonly Destination[];
  /**
   * Brings a snapshot stored by an older version (`fromVersion`) to this one, before its next event.
   * Without it, an older snapshot is used as it is, and start-up stops if it is in a state this machine lacks.
   */
  migrate?(snapshot: PersistedActorSnapshot, fromVersion: number): PersistedActorSnapshot;
}

/** A decoded message: the instance it is for and the event it becomes, type erased. */
export type DecodedActorEvent =
  | {
      readonly ok: true;
      readonly instanceId: string;
      readonly event: EventObject;
      /** The source's own inbox key (`key`), when it gives one. */
      readonly key?: string;
    }
  | { readonly ok: false; readonly reason: string };

/** A source of events as the runtime holds it. */
export interface ActorEventSource {
  readonly origin: ActorEventOrigin;
  readonly whenMissing: MissingInstancePolicy;
  /** The origin in words, for logs and errors: `queue card_queue`, `exchange cards (card.activated)`. */
  readonly label: string;
  /** Validates a parsed JSON body, and computes the instance id and the event. */
  decode(body: unknown): DecodedActorEvent;
}

/**
 * A durable actor as the runtime holds it: made by `defineActor`, passed to a service. `TMachine` keeps the
 * machine's type for tests (`simulateActor`); the runtime uses the default.
 */
export interface ActorDefinition<TMachine extends AnyStateMachine = AnyStateMachine> {
  readonly name: string;
  readonly version: number;
  readonly machine: TMachine;
  readonly sources: readonly ActorEventSource[];
  readonly publishes: readonly Destination[];
  readonly migrate: ((snapshot: PersistedActorSnapshot, fromVersion: number) => PersistedActorSnapshot) | undefined;
}

/** The next step of `defineActor`: the rest of the definition, typed against the machine. */
export interface ActorDefiner<TMachine extends AnyStateMachine> {
  /** Checks the definition and returns it, frozen; throws an `OptionsError` listing every problem. */
  with<Messages extends readonly unknown[]>(spec: ActorSpec<TMachine, Messages>): ActorDefinition<TMachine>;
}

/**
 * Defines a durable actor on `machine` (a plain XState v5 machine, `setup().createMachine(...)`). The machine
 * comes first so that each source's `event` is checked against the machine's events: given in the same
 * object, TypeScript would widen `() => ({ type: 'card.activated' })` to a `string` type and reject it.
 */
export function defineActor<TMachine extends AnyStateMachine>(machine: TMachine): ActorDefiner<TMachine> {
  return {
    with: <Messages extends readonly unknown[]>(spec: ActorSpec<TMachine, Messages>) => actorOf(machine, spec),
  };
}

const actorName = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

function actorOf<TMachine extends AnyStateMachine>(
  machine: TMachine,
  spec: ActorSpec<AnyStateMachine, readonly unknown[]>,
): ActorDefinition<TMachine> {
  const specs = spec.events as readonly ActorEventSourceSpec<AnyStateMachine, unknown>[];
  const problems = [
    ...definitionProblems(machine, spec),
    ...specs.flatMap((source, index) => sourceProblems(source, `events[${index}]`)),
    ...duplicateProblems(specs),
  ];
  if (problems.length > 0) throw new OptionsError(`invalid actor ${String(spec.name)}: ${problems.join('; ')}`);
  return Object.freeze({
    name: spec.name,
    version: spec.version,
    machine,
    sources: Object.freeze(specs.map(sourceOf)),
    publishes: spec.publishes ?? [],
    migrate: spec.migrate?.bind(spec),
  });
}

function definitionProblems(machine: unknown, spec: ActorSpec<AnyStateMachine, readonly unknown[]>): string[] {
  const problems: string[] = [];
  if (typeof spec.name !== 'string' || !actorName.test(spec.name)) {
    problems.push('name must be a letter, then up to 62 letters, digits, _ and -');
  }
  if (!Number.isSafeInteger(spec.version) || spec.version < 1) problems.push('version must be a positive integer');
  const machineIssue = machineProblem(machine);
  if (machineIssue !== undefined) problems.push(machineIssue);
  const sources = spec.events as readonly ActorEventSourceSpec<AnyStateMachine, unknown>[];
  if (!Array.isArray(sources) || sources.length === 0) return [...problems, 'events must list at least one source'];
  if (!sources.some((source) => whenMissingOf(source) === 'start')) {
    problems.push('no source starts an instance: mark one with starts: true');
  }
  return problems;
}

function sourceProblems(source: ActorEventSourceSpec<AnyStateMachine, unknown>, where: string): string[] {
  const problems: string[] = [];
  if ('queue' in source) {
    const problem = brokerNameProblem(String(source.queue));
    if (problem !== undefined) problems.push(`${where}: queue "${String(source.queue)}" ${problem}`);
  } else {
    const problem = brokerNameProblem(String(source.exchange?.name));
    if (problem !== undefined) problems.push(`${where}: exchange "${String(source.exchange?.name)}" ${problem}`);
  }
  if (source.starts === true && source.whenMissing !== undefined && source.whenMissing !== 'start') {
    problems.push(`${where}: starts: true contradicts whenMissing: '${source.whenMissing}'`);
  }
  if (source.whenMissing !== undefined && !['start', 'ignore', 'dead-letter'].includes(source.whenMissing)) {
    problems.push(`${where}: whenMissing must be 'start', 'ignore' or 'dead-letter'`);
  }
  return problems;
}

function duplicateProblems(sources: readonly ActorEventSourceSpec<AnyStateMachine, unknown>[]): string[] {
  const seen = new Map<string, number>();
  return sources.flatMap((source, index) => {
    const label = labelOf(source);
    const first = seen.get(label);
    seen.set(label, first ?? index);
    return first === undefined ? [] : [`events[${index}]: ${label} is already events[${first}]`];
  });
}

/** An origin in words, as a source's `label`: `queue card_queue`, `exchange cards (card.activated)`. */
export { labelOf };

function whenMissingOf(source: ActorEventSourceSpec<AnyStateMachine, unknown>): MissingInstancePolicy {
  return source.whenMissing ?? (source.starts === true ? 'start' : 'dead-letter');
}

function originOf(source: ActorEventOrigin): ActorEventOrigin {
  if ('queue' in source) return Object.freeze({ queue: source.queue });
  return Object.freeze({ exchange: source.exchange, routingKey: source.routingKey ?? '' });
}

function sourceOf(source: ActorEventSourceSpec<AnyStateMachine, unknown>): ActorEventSource {
  return Object.freeze({
    origin: originOf(source),
    whenMissing: whenMissingOf(source),
    label: labelOf(source),
    decode: (body: unknown) => decodeWith(source, body),
  });
}

function decodeWith(source: ActorEventSourceSpec<AnyStateMachine, unknown>, body: unknown): DecodedActorEvent {
  const parsed = source.schema.safeParse(body);
  if (!parsed.success) return { ok: false, reason: `body fails validation: ${describeIssues(parsed.error)}` };
  let instanceId: unknown;
  let event: unknown;
  let key: unknown;
  try {
    instanceId = source.id(parsed.data);
    event = source.event(parsed.data);
  } catch (error) {
    return { ok: false, reason: `no instance id or event for the message: ${describeError(error)}` };
  }
  try {
    key = source.key?.(parsed.data);
  } catch (error) {
    return { ok: false, reason: `no key for the message: ${describeError(error)}` };
  }
  if (typeof instanceId !== 'string' || instanceId.length === 0) {
    return { ok: false, reason: 'no instance id for the message: id() returned an empty or non-string value' };
  }
  const problem = eventProblem(event);
  if (problem !== undefined) return { ok: false, reason: `no event for the message: ${problem}` };
  if (source.key !== undefined && (typeof key !== 'string' || key.length === 0)) {
    return { ok: false, reason: 'no key for the message: key() returned an empty or non-string value' };
  }
  return { ok: true, instanceId, event: event as EventObject, ...(typeof key === 'string' && { key }) };
}

function eventProblem(event: unknown): string | undefined {
  const type = (event as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || type.length === 0) return 'event() must return an object with a string type';
  return jsonProblem(event, 'event');
}
