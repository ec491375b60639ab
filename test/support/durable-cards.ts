/**
 * A card-activation actor for the durable actors' tests, on the real broker and database, with names of
 * its own per test (service, queues, exchange, database), everything removed when the test ends:
 *
 *   new ── card.issued ──> waiting ── after remindMs ──> reminded ── after expireMs ──> expired (final)
 *   waiting, reminded ── card.activated ──> active (final)
 *
 * `reminded` and `active` publish to the email queue. Events come from the card queue (starts) and from
 * the cards exchange: `card.activated` (dead-letters a missing instance) and `card.activated.late` (ignores).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { assign, setup, type AnyStateMachine } from 'xstate';
import { z } from 'zod';
import { defineActor, type ActorDefinition, type ActorSpec } from '../../src/api/actor.js';
import { publish } from '../../src/durable/publish.js';
import {
  createLogger,
  defineExchange,
  defineService,
  startRuntime,
  type Exchange,
  type Runtime,
  type RuntimeOptions,
} from '../../src/index.js';
import { deleteCreated } from './runtime.js';
import { postgresServer, query } from './environment.js';

export interface CardNames {
  readonly service: string;
  readonly actor: string;
  readonly cardQueue: string;
  readonly emailQueue: string;
  readonly exchange: Exchange;
  /** The queues the runtime makes for the exchange sources, and the timer queue. */
  readonly activatedQueue: string;
  readonly lateQueue: string;
  readonly timerQueue: string;
  readonly dbUrl: string;
}

export function cardNames(label: string): CardNames {
  const id = `${label}_${randomBytes(4).toString('hex')}`;
  const service = `t_${id}`;
  const actor = 'card-activation';
  const exchange = defineExchange({ name: `t_${id}_cards`, type: 'topic' });
  return {
    service,
    actor,
    cardQueue: `t_${id}_card_queue`,
    emailQueue: `t_${id}_email_queue`,
    exchange,
    activatedQueue: `${service}.${actor}.${exchange.name}.card.activated`,
    lateQueue: `${service}.${actor}.${exchange.name}.card.activated.late`,
    timerQueue: `${service}.${actor}.timers`,
    dbUrl: `${postgresServer}/ackstate_t_${id}`,
  };
}

type CardEvent = { type: 'card.issued'; cardId: string } | { type: 'card.activated' };

export interface CardTiming {
  readonly remindMs?: number;
  readonly expireMs?: number;
  /** The name of the state between issue and reminder: another name makes an incompatible machine. */
  readonly waitingState?: string;
}

export function cardMachine(
  names: CardNames,
  { remindMs = 300, expireMs = 600, waitingState = 'waiting' }: CardTiming,
) {
  const email = { queue: names.emailQueue };
  return setup({ types: { context: {} as { cardId: string }, events: {} as CardEvent } }).createMachine({
    id: 'card',
    context: { cardId: '' },
    initial: 'new',
    states: {
      new: {
        on: {
          'card.issued': {
            target: waitingState,
            actions: assign({ cardId: ({ event }) => (event.type === 'card.issued' ? event.cardId : '') }),
          },
        },
      },
      [waitingState]: { after: { [remindMs]: 'reminded' }, on: { 'card.activated': 'active' } },
      reminded: {
        entry: publish(email, ({ event }) => ({ template: 'remind', event: event.type })),
        after: { [expireMs]: 'expired' },
        on: { 'card.activated': 'active' },
      },
      active: { type: 'final', entry: publish(email, { template: 'welcome' }) },
      expired: { type: 'final' },
    },
  });
}

const card = z.object({ id: z.string() });
const activated = z.object({ cardId: z.string() });

export function cardActivation(
  names: CardNames,
  timing: CardTiming = {},
  extra: Partial<Pick<ActorSpec<AnyStateMachine, unknown[]>, 'version' | 'migrate'>> = {},
): ActorDefinition {
  const { exchange } = names;
  return defineActor(cardMachine(names, timing)).with({
    name: names.actor,
    version: extra.version ?? 1,
    ...(extra.migrate && { migrate: extra.migrate }),
    events: [
      {
        queue: names.cardQueue,
        schema: card,
        id: (c) => c.id,
        starts: true,
        event: (c) => ({ type: 'card.issued', cardId: c.id }),
      },
      {
        exchange,
        routingKey: 'card.activated',
        schema: activated,
        id: (m) => m.cardId,
        event: () => ({ type: 'card.activated' }),
      },
      {
        exchange,
        routingKey: 'card.activated.late',
        schema: activated,
        id: (m) => m.cardId,
        event: () => ({ type: 'card.activated' }),
        whenMissing: 'ignore',
      },
    ],
    publishes: [{ queue: names.emailQueue }],
  });
}

/** A log line as the runtime writes it (JSON). */
export type LogLine = Record<string, unknown> & { readonly message?: string };

/** The runtime's log lines, collected as they are written. */
export function collectedLogs() {
  const lines: LogLine[] = [];
  let pending = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) if (line.startsWith('{')) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

export interface CardRuntimes {
  /**
   * Starts a runtime of the actor (stopped, with everything removed, when the test ends); `options` adds to
   * or replaces the runtime's options (a short retention, say).
   */
  start(
    definition: ActorDefinition,
    logs?: ReturnType<typeof collectedLogs>,
    options?: Partial<RuntimeOptions>,
  ): Promise<Runtime>;
  /** Stops a runtime started by `start` (once). */
  stop(runtime: Runtime): Promise<void>;
}

/** Runtimes of one test's actor, one after another or at once; the clean-up follows the last. */
export function cardRuntimes(t: ExecutionContext, names: CardNames): CardRuntimes {
  const running = new Map<Runtime, Promise<void> | undefined>();
  const stop = (runtime: Runtime) => {
    const stopping = running.get(runtime) ?? runtime.stop();
    running.set(runtime, stopping);
    return stopping;
  };
  t.teardown(async () => {
    try {
      await Promise.all([...running.keys()].map(stop));
    } finally {
      await deleteCreated({
        queues: [names.cardQueue, names.emailQueue, names.activatedQueue, names.lateQueue, names.timerQueue],
        exchanges: [names.exchange.name],
        databases: [names.dbUrl],
      });
    }
  });
  return {
    async start(definition, logs = collectedLogs(), options = {}) {
      const runtime = await startRuntime({
        broker: { urls: [process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'] },
        http: { port: 0 },
        outbox: { leaseMs: 2_000, pollMs: 200 },
        logger: logs.logger,
        services: [defineService({ name: names.service, database: { url: names.dbUrl }, actors: [definition] })],
        ...options,
      });
      running.set(runtime, undefined);
      return runtime;
    },
    stop,
  };
}

export interface InstanceRow {
  readonly instance_id: string;
  readonly state: string;
  readonly status: string;
  readonly row_version: number;
}

export const instanceRows = (names: CardNames) =>
  query<InstanceRow>(
    names.dbUrl,
    'SELECT instance_id, state, status, row_version FROM actor_instances WHERE actor = $1 ORDER BY instance_id',
    [names.actor],
  );

export interface HistoryRow {
  readonly instance_id: string;
  readonly event_type: string;
  readonly from_state: string | null;
  readonly to_state: string;
  readonly message_id: string | null;
  readonly published: string[];
}

export const historyRows = (names: CardNames, instanceId?: string) =>
  query<HistoryRow>(
    names.dbUrl,
    'SELECT instance_id, event_type, from_state, to_state, message_id, published FROM actor_history ' +
      'WHERE actor = $1 AND ($2::text IS NULL OR instance_id = $2) ORDER BY id',
    [names.actor, instanceId ?? null],
  );

export const timerCount = async (names: CardNames) =>
  Number(
    (
      await query<{ n: string }>(names.dbUrl, 'SELECT count(*) AS n FROM actor_timers WHERE actor = $1', [names.actor])
    )[0]!.n,
  );
