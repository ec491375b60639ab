/** The two services of one scenario, each its own process (or several), torn down with the test. */
import type { ExecutionContext } from 'ava';
import { createTestEnvironment, type TestEnvironment } from './environment.js';
import { startService, type ServiceProcess } from './service-process.js';

export interface Scenario {
  readonly environment: TestEnvironment;
  /** The first instance of each service. */
  users: ServiceProcess;
  cards: ServiceProcess;
  /** Every instance of each service, the first one included (one each unless `instances` says more). */
  readonly userInstances: ServiceProcess[];
  readonly cardInstances: ServiceProcess[];
  /** Restart the first instance. */
  restartUsers(env?: Record<string, string>): Promise<ServiceProcess>;
  /** `waitReady: false` when the service cannot be ready at once (a blocked broker keeps /readyz at 503). */
  restartCards(env?: Record<string, string>, options?: { waitReady?: boolean }): Promise<ServiceProcess>;
}

export interface ScenarioOptions {
  readonly common?: Record<string, string>;
  readonly user?: Record<string, string>;
  readonly card?: Record<string, string>;
  /**
   * Processes per service. One: the user service starts first, then the card service. More: all start
   * at the same moment, so that they race to create and migrate the fresh databases.
   */
  readonly instances?: number;
}

export async function startScenario(
  t: ExecutionContext,
  label: string,
  { common = {}, user = {}, card = {}, instances = 1 }: ScenarioOptions = {},
): Promise<Scenario> {
  const environment = createTestEnvironment(label, common);
  const processes: ServiceProcess[] = [];
  t.teardown(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await environment.cleanUp();
  });
  const start = async (mode: 'user' | 'card', env: Record<string, string>, waitReady = true) => {
    const process = await startService({ ...environment.env, ...env }, mode, { waitReady: false });
    processes.push(process);
    if (waitReady) await process.waitForReady();
    return process;
  };

  let userInstances: ServiceProcess[];
  let cardInstances: ServiceProcess[];
  if (instances === 1) {
    userInstances = [await start('user', user)];
    cardInstances = [await start('card', card)];
  } else {
    const each = (mode: 'user' | 'card', env: Record<string, string>) =>
      Array.from({ length: instances }, () => start(mode, env));
    const all = await Promise.all([...each('user', user), ...each('card', card)]);
    userInstances = all.slice(0, instances);
    cardInstances = all.slice(instances);
  }

  const scenario: Scenario = {
    environment,
    users: userInstances[0]!,
    cards: cardInstances[0]!,
    userInstances,
    cardInstances,
    async restartUsers(env = user) {
      await scenario.users.stop();
      scenario.users = await start('user', env);
      userInstances[0] = scenario.users;
      return scenario.users;
    },
    async restartCards(env = card, { waitReady = true } = {}) {
      await scenario.cards.stop();
      scenario.cards = await start('card', env, waitReady);
      cardInstances[0] = scenario.cards;
      return scenario.cards;
    },
  };
  return scenario;
}

/** Log lines of one machine that entered a state. */
export function entered(process: ServiceProcess, machine: string, state: string) {
  return process.logs.filter((line) => line.message === 'transition' && line.machine === machine && line.to === state);
}

/**
 * Checks how the failures of a persist failpoint ended in `process`: each lone delivery's retried in this
 * process (it failed by its own error, not an outage's) and later acked once, with no redelivery; each failed
 * batch split. Returns the rolled-back transitions, for the scenario's own checks.
 */
export function checkRetriedInProcess(t: ExecutionContext, process: ServiceProcess) {
  const rolledBack = entered(process, 'delivery', 'rollingBack');
  // Deliveries that arrive together share a batch: that batch's failure is split (each runs again alone)
  // instead of being retried. Which failures met a batch depends on arrival timing, so count both.
  const alone = rolledBack.filter((line) => line.batch === undefined);
  const together = rolledBack.filter((line) => line.batch !== undefined);
  const ended = (outcome: string) =>
    process.logs.filter((line) => line.machine === 'delivery' && line.to === 'done' && line.outcome === outcome);
  t.is(ended('retried').length, alone.length, 'each failure of a lone message was retried');
  t.is(ended('split').length, together.length, 'each failed batch was split');
  t.is(entered(process, 'delivery', 'backingOff').length, alone.length, 'each retry waited first');
  // A retried message may run again in a batch: its own line (one per message, a batch's included) says it
  // was acked; not redelivered, since it was retried in this process, held unacked meanwhile.
  const retriedIds = new Set(alone.map((line) => line.messageId));
  const acked = process.logs.filter(
    (line) => line.message !== 'transition' && line.outcome === 'acked' && retriedIds.has(line.messageId),
  );
  t.is(acked.length, retriedIds.size, 'every failed message was later processed, once');
  t.true(
    acked.every((line) => line.redelivered === false),
    'each retry ran in process',
  );
  t.deepEqual(entered(process, 'delivery', 'deadLettering'), [], 'nothing was dead-lettered');
  return rolledBack;
}
