/** The two services of one scenario, each its own process, torn down with the test. */
import type { ExecutionContext } from 'ava';
import { createTestEnvironment, type TestEnvironment } from './environment.js';
import { startService, type ServiceProcess } from './service-process.js';

export interface Scenario {
  readonly environment: TestEnvironment;
  users: ServiceProcess;
  cards: ServiceProcess;
  restartUsers(env?: Record<string, string>): Promise<ServiceProcess>;
  restartCards(env?: Record<string, string>): Promise<ServiceProcess>;
}

export async function startScenario(
  t: ExecutionContext,
  label: string,
  { common = {}, user = {}, card = {} }: { common?: Record<string, string>; user?: Record<string, string>; card?: Record<string, string> } = {},
): Promise<Scenario> {
  const environment = createTestEnvironment(label, common);
  const processes: ServiceProcess[] = [];
  t.teardown(async () => {
    await Promise.all(processes.map((process) => process.stop()));
    await environment.cleanUp();
  });
  const start = async (mode: 'user' | 'card', env: Record<string, string>) => {
    const process = await startService({ ...environment.env, ...env }, mode);
    processes.push(process);
    return process;
  };
  const scenario: Scenario = {
    environment,
    users: await start('user', user),
    cards: await start('card', card),
    async restartUsers(env = user) {
      await scenario.users.stop();
      scenario.users = await start('user', env);
      return scenario.users;
    },
    async restartCards(env = card) {
      await scenario.cards.stop();
      scenario.cards = await start('card', env);
      return scenario.cards;
    },
  };
  return scenario;
}

/** Log lines of one machine that entered a state. */
export function entered(process: ServiceProcess, machine: string, state: string) {
  return process.logs.filter((line) => line.message === 'transition' && line.machine === machine && line.to === state);
}
