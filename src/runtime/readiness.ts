/**
 * GET /readyz: ready when the broker and the publishing channel are up, the supervisor runs, and every
 * service's database answers and every consumer consumes. Each check is named after what it checks:
 * `broker`, `publisher`, `supervisor`, `<service>.database`, and `<service>.consumer` (or
 * `<service>.consumer.<name>` for a service with several consumers). A consumer's check is its state's name;
 * a paused one's says more, led by its state: since when its breaker has been open and why
 * (`paused since 2026-12-07T12:00:00.000Z (failure-rate: most recent deliveries failed; <the error>)`).
 */
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import { sql, type Kysely } from 'kysely';
import type { AnyActorRef } from 'xstate';
import type { Readiness } from '../http/http-server.js';
import type { ConfirmPublisher } from '../actors/broker/publisher.js';
import { describePause, pauseOf, type PauseContext } from '../machines/consumer-pause.js';
import { describeError } from '../policies/describe-error.js';
import { withTimeout } from '../with-timeout.js';
import type { PlannedConsumer } from './plan.js';

export interface ReadinessSources {
  readonly connection: AmqpConnectionManager;
  readonly publisher: ConfirmPublisher;
  readonly supervisor: () => AnyActorRef | undefined;
  readonly databases: readonly { readonly services: readonly string[]; readonly db: Kysely<unknown> }[];
  readonly consumers: readonly PlannedConsumer[];
}

const stateOf = (actor: AnyActorRef | undefined) => String(actor?.getSnapshot().value ?? 'not started');

/** A consumer's state, and for a paused one since when and why. */
function consumerCheck(actor: AnyActorRef | undefined): { state: string; check: string } {
  const state = stateOf(actor);
  const context = (actor?.getSnapshot() as { context?: PauseContext } | undefined)?.context ?? {};
  const pause = pauseOf(state, context);
  return { state, check: pause === undefined ? state : describePause(pause) };
}

export function readinessCheck(sources: ReadinessSources): () => Promise<Readiness> {
  return async () => {
    const { connection, publisher, databases, consumers } = sources;
    const supervisor = sources.supervisor();
    const checks: Record<string, string> = {
      broker: connection.isConnected() ? 'connected' : 'disconnected',
      // Its own channel: a failed setup (a queue declared elsewhere with other arguments) closes it alone.
      publisher: publisher.blocked ? 'blocked' : publisher.connected ? 'open' : 'closed',
      supervisor: stateOf(supervisor),
    };
    await Promise.all(
      databases.map(async ({ services, db }) => {
        let state = 'reachable';
        try {
          await withTimeout(sql`SELECT 1`.execute(db), 2_000, 'database check');
        } catch (error) {
          state = `unreachable: ${describeError(error)}`;
        }
        for (const service of services) checks[`${service}.database`] = state;
      }),
    );
    const consumerStates = consumers.map((consumer) => {
      const { state, check } = consumerCheck(supervisor?.system.get(consumer.actorId) as AnyActorRef | undefined);
      checks[consumer.check] = check;
      return state;
    });
    const ready =
      checks.broker === 'connected' &&
      checks.publisher === 'open' &&
      checks.supervisor === 'running' &&
      databases.every(({ services }) => services.every((service) => checks[`${service}.database`] === 'reachable')) &&
      // `verifying`: the breaker checks a suspicion while messages keep flowing.
      consumerStates.every((state) => state === 'consuming' || state === 'verifying');
    return { ready, checks };
  };
}
