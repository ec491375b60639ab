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
