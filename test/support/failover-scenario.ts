/**
 * The set-up the database failover tests share: the test's own primary and standby, both services with
 * their databases on it (reached through the pair's endpoint), users created at a steady rate, and the
 * final check that nothing of the pair or the services is left.
 */
import type { ExecutionContext } from 'ava';
import { flowReached, startFlow, type Flow } from './load.js';
import { startPostgresPair, type PostgresPair } from './postgres-cluster.js';
import { startScenario, type Scenario } from './scenario.js';

export const userDb = 'failover_user';
export const cardDb = 'failover_card';
const perSecond = 20;

export interface FailoverSetup {
  readonly pair: PostgresPair;
  readonly scenario: Scenario;
}

export async function setUpFailover(t: ExecutionContext, label: string, synchronous: boolean): Promise<FailoverSetup> {
  const pair = await startPostgresPair({ synchronous });
  t.teardown(() => pair.tearDown());
  const scenario = await startScenario(t, label, {
    common: { USER_DB_URL: pair.endpointUrl(userDb), CARD_DB_URL: pair.endpointUrl(cardDb) },
  });
  return { pair, scenario };
}

export function steadyFlow(t: ExecutionContext, { scenario }: FailoverSetup, label: string): Flow {
  const flow = startFlow(() => scenario.users.url, perSecond, label);
  t.teardown(() => flow.abandon());
  return flow;
}

/** Users created at the steady rate until `count` were answered 201; the flow then stops. */
export async function createUsers(
  t: ExecutionContext,
  setup: FailoverSetup,
  label: string,
  count: number,
): Promise<string[]> {
  const flow = steadyFlow(t, setup, label);
  await flowReached(flow, count);
  return flow.stop();
}

/** The environment as the invariant checker sees it: both databases on the current primary, directly. */
export const onCurrentPrimary = ({ pair, scenario }: FailoverSetup) => ({
  ...scenario.environment,
  userDbUrl: pair.current().url(userDb),
  cardDbUrl: pair.current().url(cardDb),
});

/** Stops the services, then the pair, and checks that nothing of the pair is left. */
export async function tearDownAndCheck(t: ExecutionContext, { pair, scenario }: FailoverSetup): Promise<void> {
  const processes = [...scenario.userInstances, ...scenario.cardInstances];
  await Promise.all(processes.map((process) => process.stop()));
  await pair.tearDown();
  t.true(pair.isGone(), 'no server, proxy or folder of the pair is left');
  t.true(
    processes.every((process) => process.child.exitCode !== null || process.child.signalCode !== null),
    'every service process ended',
  );
}

export const seconds = (ms: number) => `${(ms / 1_000).toFixed(2)} s`;
