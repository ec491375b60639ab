/**
 * The outage matrix's one measurement (test/outages/): the card service (`node dist/main.js card`) as a child
 * process, on a role and database of the test's own (on the machine's PostgreSQL, or on a server of the test's
 * own), 20 messages before and 40 queued during a 30 s outage that a kind makes and then ends WITHOUT touching
 * the service's sessions. Checked: every message processed once and its card message published, nothing
 * dead-lettered, no attempt left counted, the child's CPU during the outage under a share of one core, its
 * log lines bounded, the consumer paused (or not, for a kind that stops no delivery) and consuming again
 * within the kind's bound after the end, then quiet. The figures are printed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import pg from 'pg';
import { deleteQueues, peekQueue, publishRaw, queueCounts } from './broker.js';
import { amqpUrl, createTestEnvironment, delayQueuesOf, postgresServer, query } from './environment.js';
import { startService, type LogLine } from './service-process.js';
import type { TcpProxy } from './tcp-proxy.js';
import { waitUntil, sleep } from './wait.js';

export const outageMs = 30_000;
const before = 20;
const during = 40;
/** The child's CPU during the outage, as a share of one core, at most. */
const maxCpuShare = 0.05;
/**
 * Log lines a second, on average, over the whole outage (the deliveries in flight when it began log their
 * failures once each) and once the breaker is open (those still in flight finish, probes log nothing, and
 * each half-open trial logs about ten lines).
 */
const maxLogLinesPerSecond = 20;
const maxOpenLogLinesPerSecond = 10;
/** After it is processed again, how long the service must log no warning and no error. */
const quietMs = 5_000;
/** A bound for outages with a code known as an outage (or that the write probe sees at once). */
export const knownOutageBoundMs = 15_000;
/** A bound for the lock-like outages that only a delivery meets (the write probe cannot see them). */
export const lockLikeBoundMs = 45_000;

const clockTicks = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU in 1/100 s

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Where the service's database and broker are: the machine's own, or servers of the test's own. */
export interface OutageTarget {
  /** The PostgreSQL server's base URL as a superuser (no database). */
  readonly postgres: string;
  readonly amqpUrl: string;
  /** A server of the test's own: its teardown removes everything on it, so dropping is best effort. */
  readonly own: boolean;
}

export interface Outage {
  readonly target: OutageTarget;
  /** The service's own role (not a superuser) and database, which it owns. */
  readonly role: string;
  readonly database: string;
  readonly userQueue: string;
  readonly cardQueue: string;
  /** The service's database as the superuser: what the test checks and changes the database through. */
  readonly checkUrl: string;
  /** The URL the service connects with (its own role; `prepare` may change it, e.g. through a proxy). */
  serviceUrl: string;
  /** A proxy between the service and PostgreSQL, when `prepare` put one there. */
  proxy?: TcpProxy;
  /** Runs one statement on the server's `postgres` database as the superuser. */
  admin<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<Row[]>;
}

export interface OutageKind {
  readonly name: string;
  /** From the end of the outage until every message is processed and published, at most. */
  readonly boundMs: number;
  /** The service's own settings (environment variables) beside the harness's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Whether the consumer must pause. Default true. */
  readonly pauses?: boolean;
  /** The servers of the test's own it runs on (their teardown registered); the machine's when omitted. */
  target?(t: ExecutionContext): Promise<OutageTarget>;
  /** Adjusts the outage (the service's URL) before the service starts. */
  prepare?(t: ExecutionContext, outage: Outage): Promise<void>;
  /**
   * Queues the messages meant for the outage before it begins, so that they reach the queue during it: for
   * an outage that blocks every producer (the broker's alarm). Else the test publishes them once it began.
   */
  queueAhead?(outage: Outage, bodies: string[]): Promise<void>;
  /** Makes the outage; returns how to end it, which touches none of the service's sessions. */
  begin(t: ExecutionContext, outage: Outage): Promise<() => Promise<void>>;
  /** Checks of the kind's own, once everything is processed. */
  check?(t: ExecutionContext, outcome: OutageOutcome): void;
}

/** What a kind's own checks look at. */
export interface OutageOutcome {
  readonly logs: readonly LogLine[];
  /** How many times each card message reached the card queue, by card id. */
  readonly copies: ReadonlyMap<string, number>;
}

export const ident = (name: string) => pg.escapeIdentifier(name);

const users = (count: number) =>
  Array.from({ length: count }, (_, index) =>
    JSON.stringify({
      id: randomUUID(),
      name: `Outage ${index}`,
      email: `outage${index}@example.com`,
      created_at: new Date().toISOString(),
    }),
  );

const countOf = async (url: string, text: string) => Number((await query<{ n: string }>(url, text))[0]!.n);
const cardCount = (url: string) => countOf(url, 'SELECT count(*) AS n FROM cards');
const unsentCount = (url: string) => countOf(url, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL');

function metricLines(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(name) && !line.endsWith(' 0'));
}

const highestAttempt = (logs: readonly LogLine[]) =>
  Math.max(0, ...logs.map((line) => (typeof line.attempts === 'number' ? line.attempts : 0)));

const consumerLines = (logs: readonly LogLine[]) => logs.filter((line) => line.machine === 'consumer');

/** The whole measurement of one outage kind; `label` names the test's queues and database. */
export async function measureOutage(t: ExecutionContext, kind: OutageKind, label: string): Promise<void> {
  const target = (await kind.target?.(t)) ?? { postgres: postgresServer, amqpUrl, own: false };
  const environment = createTestEnvironment(label, { AMQP_URL: target.amqpUrl });
  const role = `ackstate_t_${environment.id}`;
  const database = new URL(environment.cardDbUrl).pathname.slice(1);
  const admin = <Row>(text: string, values: unknown[] = []) => query<Row>(`${target.postgres}/postgres`, text, values);
  await admin(`CREATE ROLE ${ident(role)} LOGIN`);
  await admin(`CREATE DATABASE ${ident(database)} OWNER ${ident(role)}`);
  t.teardown(async () => {
    const bestEffort = <T>(work: Promise<T>) => (target.own ? work.catch(() => {}) : work);
    await bestEffort(
      deleteQueues(
        [
          environment.userQueue,
          `${environment.userQueue}.dead`,
          environment.cardQueue,
          `${environment.cardQueue}.dead`,
          ...delayQueuesOf(environment.userQueue),
        ],
        target.amqpUrl,
      ),
    );
    await bestEffort(admin(`DROP DATABASE IF EXISTS ${ident(database)} WITH (FORCE)`));
    await bestEffort(admin(`DROP ROLE IF EXISTS ${ident(role)}`));
  });
  const ownUrl = new URL(target.postgres);
  ownUrl.username = role;
  ownUrl.pathname = `/${database}`;
  const outage: Outage = {
    target,
    role,
    database,
    userQueue: environment.userQueue,
    cardQueue: environment.cardQueue,
    checkUrl: `${target.postgres}/${database}`,
    serviceUrl: ownUrl.toString(),
    admin,
  };
  await kind.prepare?.(t, outage);

  const cards = await startService(
    { ...environment.env, AMQP_URL: target.amqpUrl, CARD_DB_URL: outage.serviceUrl, MAX_ATTEMPTS: '3', ...kind.env },
    'card',
    { waitReady: false },
  );
  t.teardown(async () => {
    await cards.stop();
  });
  await cards.waitForReady();
  const pid = cards.child.pid!;
  const { checkUrl } = outage;

  await publishRaw(environment.userQueue, users(before), {}, target.amqpUrl);
  await waitUntil(async () => (await cardCount(checkUrl)) === before, { what: `${before} cards before the outage` });
  // Their card messages confirmed and marked sent: a republished one afterwards is the outage's doing.
  await waitUntil(async () => (await unsentCount(checkUrl)) === 0, { what: 'the card messages before the outage' });

  const bodies = users(during);
  await kind.queueAhead?.(outage, bodies);
  const end = await kind.begin(t, outage);
  const startedAt = Date.now();
  const cpuBefore = cpuSeconds(pid);
  const logsBefore = cards.logs.length;
  if (!kind.queueAhead) await publishRaw(environment.userQueue, bodies, {}, target.amqpUrl);
  const pauses = kind.pauses ?? true;
  const paused = pauses
    ? await waitUntil(
        () => cards.logs.slice(logsBefore).find((line) => line.machine === 'consumer' && line.to === 'paused'),
        { timeoutMs: outageMs, what: 'the consumer to pause' },
      )
    : undefined;
  const pausedAfterMs = Date.now() - startedAt;
  const linesUntilPaused = cards.logs.length - logsBefore;
  await sleep(startedAt + outageMs - Date.now());
  const outageSeconds = (Date.now() - startedAt) / 1_000;
  const cpuShare = (cpuSeconds(pid) - cpuBefore) / outageSeconds;
  const outageLines = cards.logs.slice(logsBefore);
  const linesPerSecond = outageLines.length / outageSeconds;
  const openLinesPerSecond = (outageLines.length - linesUntilPaused) / (outageSeconds - pausedAfterMs / 1_000);
  const trials = outageLines.filter((line) => line.machine === 'consumer' && line.to === 'halfOpen').length;
  const pausesDuring = outageLines.filter((line) => line.machine === 'consumer' && line.to === 'paused').length;

  // Printed now, so that they show when the recovery below fails.
  t.log(`${kind.name}:`);
  t.log(
    pauses
      ? `  paused after ${pausedAfterMs} ms (${String(paused?.trippedBy)}: ${String(paused?.error).slice(0, 120)}); ` +
          `${trials} half-open trials, ${pausesDuring} pauses during it`
      : `  ${pausesDuring} pauses during it, ${trials} half-open trials`,
  );
  t.log(
    `  during ${outageSeconds.toFixed(1)} s: CPU ${(cpuShare * 100).toFixed(2)} % of one core, ${outageLines.length} log ` +
      `lines (${linesPerSecond.toFixed(2)}/s; ${linesUntilPaused} until paused, then ${openLinesPerSecond.toFixed(2)}/s); ` +
      `highest attempt count logged ${highestAttempt(outageLines)}`,
  );

  await end();
  const endedAt = Date.now();
  const logsAtEnd = cards.logs.length;
  const total = before + during;
  const waitMs = kind.boundMs + 45_000;
  await waitUntil(async () => (await cardCount(checkUrl)) >= total, {
    timeoutMs: waitMs,
    what: async () =>
      `${total} cards after the outage (${await cardCount(checkUrl).catch(() => '?')}); the consumer's last ` +
      `transitions: ${consumerLines(cards.logs)
        .slice(-3)
        .map((line) => `${String(line.to)} (${String(line.error ?? '').slice(0, 100)})`)
        .join(', ')}`,
  });
  const processedMs = Date.now() - endedAt;
  await waitUntil(async () => (await unsentCount(checkUrl)) === 0, {
    timeoutMs: waitMs,
    what: async () => `every card message to be published (${await unsentCount(checkUrl).catch(() => '?')} unsent)`,
  });
  const recoveryMs = Date.now() - endedAt;
  await waitUntil(() => consumerLines(cards.logs).at(-1)?.to === 'consuming', {
    timeoutMs: 30_000,
    what: () => `the consumer to be consuming (last: ${String(consumerLines(cards.logs).at(-1)?.to)})`,
  }).catch(() => {}); // asserted below
  const recoveredLogs = cards.logs.length;
  await sleep(quietMs);
  const noisyAfter = cards.logs.slice(recoveredLogs).filter((line) => line.level === 'warn' || line.level === 'error');
  await waitUntil(async () => (await queueCounts(environment.userQueue, target.amqpUrl)).messages === 0, {
    what: 'the user queue to drain',
  });
  const metrics = await (await fetch(`${cards.url}/metrics`)).text();

  const doubled = await query(checkUrl, 'SELECT user_id FROM cards GROUP BY user_id HAVING count(*) > 1');
  const attempts = await query(checkUrl, "SELECT * FROM delivery_attempts WHERE message_key <> 'ackstate:probe'");
  const deadLetters = (await queueCounts(`${environment.userQueue}.dead`, target.amqpUrl)).messages;
  const deadLettering = cards.logs.filter((line) => line.machine === 'delivery' && line.to === 'deadLettering');
  const trips = metricLines(metrics, 'ackstate_breaker_trips_total');
  const cardIds = new Set((await query<{ id: string }>(checkUrl, 'SELECT id FROM cards')).map((row) => row.id));
  const published = (await peekQueue(environment.cardQueue, target.amqpUrl)).map(
    (message) => (JSON.parse(message.content.toString()) as { id: string }).id,
  );
  const copies = new Map<string, number>();
  for (const id of published) copies.set(id, (copies.get(id) ?? 0) + 1);
  const publishedIds = new Set(published);
  const afterEnd = cards.logs.slice(logsAtEnd);
  const pausesAfter = afterEnd.filter((line) => line.machine === 'consumer' && line.to === 'paused').length;
  const lastConsumerState = consumerLines(cards.logs).at(-1)?.to;

  t.log(
    `  after the end: processed in ${processedMs} ms, every card message published in ${recoveryMs} ms ` +
      `(bound ${kind.boundMs / 1_000} s); ${pausesAfter} pauses and highest attempt count ${highestAttempt(afterEnd)} after the end; ${published.length} card messages ` +
      `for ${cardIds.size} cards (at most ${Math.max(0, ...copies.values())} copies of one); trips: ${trips.map((line) => line.replace(/^.*reason="([^"]+)".*} /, '$1=')).join(', ')}`,
  );
  if (noisyAfter.length > 0)
    t.log(`  warnings after recovery: ${noisyAfter.map((line) => `${String(line.to)}: ${String(line.error)}`)[0]}`);

  t.is(await cardCount(checkUrl), total, 'every message processed');
  t.deepEqual(doubled, [], 'no message processed twice');
  t.is(deadLetters, 0, 'nothing dead-lettered');
  t.deepEqual(deadLettering, [], 'no delivery went to deadLettering');
  t.deepEqual(attempts, [], 'no attempt left counted for the outage');
  t.deepEqual(
    [...cardIds].filter((id) => !publishedIds.has(id)),
    [],
    'every card message published',
  );
  t.true(cpuShare <= maxCpuShare, `CPU during the outage ${(cpuShare * 100).toFixed(2)} % of one core`);
  t.true(linesPerSecond <= maxLogLinesPerSecond, `log lines during the outage: ${linesPerSecond.toFixed(2)}/s`);
  if (pauses) {
    t.truthy(paused, 'the consumer paused');
    t.true(
      openLinesPerSecond <= maxOpenLogLinesPerSecond,
      `log lines once the breaker was open: ${openLinesPerSecond.toFixed(2)}/s`,
    );
  } else {
    t.is(pausesDuring + pausesAfter, 0, 'the consumer never paused');
  }
  t.true(
    recoveryMs <= kind.boundMs,
    `processed and published ${recoveryMs} ms after the end, bound ${kind.boundMs} ms`,
  );
  t.is(lastConsumerState, 'consuming', 'the consumer is consuming again (its breaker closed)');
  t.deepEqual(
    noisyAfter.map((line) => `${String(line.machine)} ${String(line.to)}: ${String(line.error)}`),
    [],
    `no warning or error in the ${quietMs / 1_000} s after recovery`,
  );
  kind.check?.(t, { logs: cards.logs, copies });
}

/** A second role of the test's own, as another application's, dropped afterwards. */
export async function otherRole(t: ExecutionContext, outage: Outage): Promise<string> {
  const role = `ackstate_t_other_${randomBytes(4).toString('hex')}`;
  await outage.admin(`CREATE ROLE ${ident(role)} LOGIN`);
  t.teardown(async () => {
    await outage.admin(`DROP ROLE IF EXISTS ${ident(role)}`).catch(() => {});
  });
  return role;
}
