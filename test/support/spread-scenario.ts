/**
 * Several instances of each service on a test cluster (test/support/rabbitmq-netns-cluster.ts), spread over
 * its nodes: instance i's AMQP_URL starts with node i (mod the cluster's size) and lists the others after it.
 * Torn down with the test; the recovery measures the partition tests log come from here too.
 */
import type { ExecutionContext } from 'ava';
import { createTestEnvironment, query, type TestEnvironment } from './environment.js';
import { onProcessEnd } from './netns.js';
import type { NetnsCluster, NetnsNode } from './rabbitmq-netns-cluster.js';
import { entered } from './scenario.js';
import { startService, type ServiceProcess } from './service-process.js';
import { waitUntil } from './wait.js';

export interface SpreadScenario {
  readonly environment: TestEnvironment;
  readonly userInstances: ServiceProcess[];
  readonly cardInstances: ServiceProcess[];
  /** Every process, users first. */
  all(): ServiceProcess[];
  /** Starts `count` more instances of a service, continuing the spread over the nodes. */
  add(mode: 'user' | 'card', count: number): Promise<ServiceProcess[]>;
  stop(): Promise<void>;
}

export interface SpreadOptions {
  readonly instances: number;
  readonly common?: Record<string, string>;
  /** False: start no card instance yet (`add('card', n)` later), so that a backlog builds up. */
  readonly startCards?: boolean;
}

export async function startSpreadScenario(
  t: ExecutionContext,
  label: string,
  cluster: NetnsCluster,
  { instances, common = {}, startCards = true }: SpreadOptions,
): Promise<SpreadScenario> {
  const environment = createTestEnvironment(label, { QUEUE_TYPE: 'quorum', ...common });
  const userInstances: ServiceProcess[] = [];
  const cardInstances: ServiceProcess[] = [];
  // Killed when the test process ends without its teardown (a timeout), so that none outlives it.
  const unregister = onProcessEnd(() => {
    for (const process of [...userInstances, ...cardInstances]) process.child.kill('SIGKILL');
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    await Promise.all([...userInstances, ...cardInstances].map((process) => process.stop()));
    await environment.cleanUp(); // the databases; the queues live on the test cluster, gone with it
  };
  t.teardown(stop);

  const add = async (mode: 'user' | 'card', count: number) => {
    const list = mode === 'user' ? userInstances : cardInstances;
    const started = await Promise.all(
      Array.from({ length: count }, (_, offset) =>
        startService({ ...environment.env, AMQP_URL: cluster.amqpUrls(list.length + offset) }, mode, {
          waitReady: false,
        }),
      ),
    );
    list.push(...started);
    await Promise.all(started.map((process) => process.waitForReady(120_000)));
    return started;
  };
  await add('user', instances);
  if (startCards) await add('card', instances);
  return { environment, userInstances, cardInstances, all: () => [...userInstances, ...cardInstances], add, stop };
}

/** The address of the node a process is connected to now, from its connection machine's log; none while down. */
export function brokerAddressOf(process: ServiceProcess): string | undefined {
  const lines = process.logs.filter((line) => line.message === 'transition' && line.machine === 'connection');
  const last = lines.at(-1);
  if (!last || last.to !== 'connected' || typeof last.url !== 'string') return undefined;
  return new URL(last.url).hostname;
}

/** The processes connected to this node now. */
export const processesOn = (processes: readonly ServiceProcess[], node: NetnsNode) =>
  processes.filter((process) => brokerAddressOf(process) === node.host.address);

/** Waits until none of `processes` is connected to `node` and each is connected to another one. */
export async function waitMovedOff(processes: readonly ServiceProcess[], node: NetnsNode, timeoutMs = 120_000) {
  await waitUntil(
    () => processes.every((process) => ![undefined, node.host.address].includes(brokerAddressOf(process))),
    {
      timeoutMs,
      intervalMs: 200,
      what: () =>
        `every process to leave ${node.name}: they are on ${processes.map((process) => brokerAddressOf(process) ?? 'nothing').join(', ')}`,
    },
  );
}

/** How many times each process entered `reconnecting` so far. */
export const reconnectCounts = (processes: readonly ServiceProcess[]) =>
  processes.map((process) => entered(process, 'connection', 'reconnecting').length);

/** Cards the user service has stored so far (for these users only, when given). */
export async function storedCards(environment: TestEnvironment, users?: readonly string[]): Promise<number> {
  const [row] = users
    ? await query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM cards WHERE user_id = ANY($1)', [
        users,
      ])
    : await query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM cards');
  return Number(row!.n);
}

/** Waits until the user service has stored a card for one of the users `ids()` returns (read at each poll). */
export async function waitCardStoredFor(
  environment: TestEnvironment,
  ids: () => readonly string[],
  timeoutMs = 180_000,
) {
  await waitUntil(
    async () => {
      const wanted = ids();
      if (wanted.length === 0) return false;
      const rows = await query(environment.userDbUrl, 'SELECT 1 FROM cards WHERE user_id = ANY($1) LIMIT 1', [wanted]);
      return rows.length > 0;
    },
    { timeoutMs, intervalMs: 200, what: 'a card stored for a user created after the fault began' },
  );
}

/** Milliseconds since `since`, for the figures the tests log. */
export const since = (since: number) => Date.now() - since;

/** Milliseconds from `start` until `work` is done: run several at once to time each from the same moment. */
export async function timeFrom(start: number, work: Promise<unknown>): Promise<number> {
  await work;
  return since(start);
}

/**
 * For the users created after `since` (ms since the epoch): how long after it the first of their cards was
 * issued by the card service and stored by the user service. Tells which hop a stall was in.
 */
export async function firstCardsAfter(environment: TestEnvironment, since: number) {
  const [row] = await query<{ issued: Date | null; stored: Date | null }>(
    environment.userDbUrl,
    `SELECT min(c.created_at) AS issued, min(c.stored_at) AS stored
       FROM cards c JOIN users u ON u.id = c.user_id WHERE u.created_at > $1`,
    [new Date(since)],
  );
  const after = (time: Date | null | undefined) => (time ? time.getTime() - since : undefined);
  return { issuedMs: after(row?.issued), storedMs: after(row?.stored) };
}
