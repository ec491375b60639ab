// Database outages of kinds no error list names, each made by the test on its own role, database or
// proxy (the shared PostgreSQL keeps running): the card service (`node dist/main.js card`) has messages
// queued during a 30 s outage and must pause instead of looping, count no attempt for the outage,
// dead-letter nothing, and process every message once when the outage ends. The figures are printed.
//
// Here and not in test/scenarios/: nothing shared is stopped or blocked. Serial (ava.serial.config.js):
// each outage lasts 30 s and measures the child's CPU, which a loaded machine would blur.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import pg from 'pg';
import { queueCounts, publishRaw } from '../support/broker.js';
import { createTestEnvironment, postgresServer, query } from '../support/environment.js';
import { startService } from '../support/service-process.js';
import { startTcpProxy, throughProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';

const outageMs = 30_000;
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

const admin = `${postgresServer}/postgres`;
const clockTicks = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU in 1/100 s

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

interface Outage {
  readonly role: string;
  readonly database: string;
  /** The URL the service connects with (its own role; through the proxy when there is one). */
  serviceUrl: string;
  proxy?: TcpProxy;
}

interface OutageKind {
  readonly name: string;
  /** Adjusts the outage's URL or props before the service starts. */
  prepare?(t: ExecutionContext, outage: Outage): Promise<void>;
  /** Makes the outage; returns how to end it. */
  begin(t: ExecutionContext, outage: Outage): Promise<() => Promise<void>>;
}

const sql = (text: string) => query(admin, text);
const ident = (name: string) => pg.escapeIdentifier(name);
const terminate = (column: 'datname' | 'usename', value: string) =>
  query(
    admin,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${column} = $1 AND pid <> pg_backend_pid()`,
    [value],
  );

const kinds: OutageKind[] = [
  {
    name: 'new connections refused (a proxy that resets every connection)',
    async prepare(t, outage) {
      const proxy = await startTcpProxy(5432);
      t.teardown(() => proxy.close());
      outage.proxy = proxy;
      outage.serviceUrl = throughProxy(outage.serviceUrl, proxy);
    },
    async begin(_t, outage) {
      outage.proxy!.cut();
      return async () => outage.proxy!.restore();
    },
  },
  {
    name: 'credentials rejected (the role made NOLOGIN, its sessions terminated)',
    async begin(_t, { role }) {
      await sql(`ALTER ROLE ${ident(role)} NOLOGIN`);
      await terminate('usename', role);
      return async () => {
        await sql(`ALTER ROLE ${ident(role)} LOGIN`);
      };
    },
  },
  {
    name: 'writes refused (the database made read-only, its sessions terminated)',
    async begin(_t, { database }) {
      await sql(`ALTER DATABASE ${ident(database)} SET default_transaction_read_only = on`);
      await terminate('datname', database);
      // A session keeps the default it started with: ending the outage ends those sessions too.
      return async () => {
        await sql(`ALTER DATABASE ${ident(database)} RESET default_transaction_read_only`);
        await terminate('datname', database);
      };
    },
  },
  {
    name: 'a lock held past the statement timeout (LOCK TABLE cards IN ACCESS EXCLUSIVE MODE)',
    async prepare(_t, outage) {
      const url = new URL(outage.serviceUrl);
      url.searchParams.set('options', '-c statement_timeout=1000');
      outage.serviceUrl = url.toString();
    },
    async begin(t, { database }) {
      const holder = new pg.Client({ connectionString: `${postgresServer}/${database}` });
      holder.on('error', () => {});
      await holder.connect();
      t.teardown(() => holder.end().catch(() => {}));
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE cards IN ACCESS EXCLUSIVE MODE');
      return async () => {
        await holder.query('COMMIT');
        await holder.end();
      };
    },
  },
  {
    name: 'too many connections (CONNECTION LIMIT 0, its sessions terminated)',
    async begin(_t, { database }) {
      await sql(`ALTER DATABASE ${ident(database)} CONNECTION LIMIT 0`);
      await terminate('datname', database);
      return async () => {
        await sql(`ALTER DATABASE ${ident(database)} CONNECTION LIMIT -1`);
      };
    },
  },
];

const users = (count: number) =>
  Array.from({ length: count }, (_, index) =>
    JSON.stringify({
      id: randomUUID(),
      name: `Outage ${index}`,
      email: `outage${index}@example.com`,
      created_at: new Date().toISOString(),
    }),
  );

const cardCount = async (url: string) =>
  Number((await query<{ n: string }>(url, 'SELECT count(*) AS n FROM cards'))[0]!.n);

function metricLines(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(name) && !line.endsWith(' 0'));
}

for (const [index, kind] of kinds.entries()) {
  test.serial(
    `outage ${index + 1}, ${kind.name}: the consumer pauses, nothing is counted or dead-lettered, and every message is processed once after`,
    async (t) => {
      const environment = createTestEnvironment(`outage${index + 1}`);
      const role = `ackstate_t_${environment.id}`;
      const database = new URL(environment.cardDbUrl).pathname.slice(1);
      await sql(`CREATE ROLE ${ident(role)} LOGIN`);
      await sql(`CREATE DATABASE ${ident(database)} OWNER ${ident(role)}`);
      t.teardown(async () => {
        await sql(`ALTER ROLE ${ident(role)} LOGIN`).catch(() => {});
        await environment.cleanUp();
        await sql(`DROP ROLE IF EXISTS ${ident(role)}`);
      });
      const ownUrl = new URL(postgresServer);
      ownUrl.username = role;
      ownUrl.pathname = `/${database}`;
      const outage: Outage = { role, database, serviceUrl: ownUrl.toString() };
      await kind.prepare?.(t, outage);

      const cards = await startService(
        { ...environment.env, CARD_DB_URL: outage.serviceUrl, MAX_ATTEMPTS: '3' },
        'card',
        { waitReady: false },
      );
      t.teardown(async () => {
        await cards.stop();
      });
      await cards.waitForReady();
      const pid = cards.child.pid!;
      const checkUrl = `${postgresServer}/${database}`;

      await publishRaw(environment.userQueue, users(before));
      await waitUntil(async () => (await cardCount(checkUrl)) === before, {
        what: `${before} cards before the outage`,
      });

      const end = await kind.begin(t, outage);
      const startedAt = Date.now();
      const cpuBefore = cpuSeconds(pid);
      const logsBefore = cards.logs.length;
      await publishRaw(environment.userQueue, users(during));
      const paused = await waitUntil(
        () => cards.logs.slice(logsBefore).find((line) => line.machine === 'consumer' && line.to === 'paused'),
        { timeoutMs: outageMs, what: 'the consumer to pause' },
      );
      const pausedAfterMs = Date.now() - startedAt;
      const linesUntilPaused = cards.logs.length - logsBefore;
      await new Promise((resolve) => setTimeout(resolve, startedAt + outageMs - Date.now()));
      const cpuShare = (cpuSeconds(pid) - cpuBefore) / ((Date.now() - startedAt) / 1_000);
      const outageLines = cards.logs.slice(logsBefore);
      const linesPerSecond = outageLines.length / ((Date.now() - startedAt) / 1_000);
      const openLinesPerSecond =
        (outageLines.length - linesUntilPaused) / ((Date.now() - startedAt - pausedAfterMs) / 1_000);
      const trials = outageLines.filter((line) => line.machine === 'consumer' && line.to === 'halfOpen').length;
      await end();

      const endedAt = Date.now();
      await waitUntil(async () => (await cardCount(checkUrl)) >= before + during, {
        timeoutMs: 120_000,
        what: async () => `${before + during} cards after the outage (${await cardCount(checkUrl).catch(() => '?')})`,
      });
      const recoveryMs = Date.now() - endedAt;
      await waitUntil(async () => (await queueCounts(environment.userQueue)).messages === 0, {
        what: 'the user queue to drain',
      });
      const metrics = await (await fetch(`${cards.url}/metrics`)).text();

      const doubled = await query(checkUrl, 'SELECT user_id FROM cards GROUP BY user_id HAVING count(*) > 1');
      const attempts = await query(checkUrl, "SELECT * FROM delivery_attempts WHERE message_key <> 'ackstate:probe'");
      const deadLetters = (await queueCounts(`${environment.userQueue}.dead`)).messages;
      const deadLettering = cards.logs.filter((line) => line.machine === 'delivery' && line.to === 'deadLettering');
      const maxAttempts = Math.max(
        0,
        ...cards.logs.map((line) => (typeof line.attempts === 'number' ? line.attempts : 0)),
      );
      const trips = metricLines(metrics, 'ackstate_breaker_trips_total');

      t.log(`${kind.name}:`);
      t.log(
        `  paused after ${pausedAfterMs} ms (${String(paused.trippedBy)}: ${String(paused.error).slice(0, 120)}); ` +
          `${trials} half-open trials`,
      );
      t.log(
        `  during ${outageMs / 1_000} s: CPU ${(cpuShare * 100).toFixed(2)} % of one core, ${outageLines.length} log lines ` +
          `(${linesPerSecond.toFixed(2)}/s; ${linesUntilPaused} until paused, then ${openLinesPerSecond.toFixed(2)}/s); ` +
          `highest attempt count logged ${maxAttempts}`,
      );
      t.log(
        `  recovered in ${recoveryMs} ms; trips: ${trips.map((line) => line.replace(/^.*reason="([^"]+)".*} /, '$1=')).join(', ')}`,
      );

      t.is(await cardCount(checkUrl), before + during, 'every message processed');
      t.deepEqual(doubled, [], 'no message processed twice');
      t.is(deadLetters, 0, 'nothing dead-lettered');
      t.deepEqual(deadLettering, [], 'no delivery went to deadLettering');
      t.deepEqual(attempts, [], 'no attempt left counted for the outage');
      t.true(cpuShare < maxCpuShare, `CPU during the outage ${(cpuShare * 100).toFixed(2)} % of one core`);
      t.true(linesPerSecond <= maxLogLinesPerSecond, `log lines during the outage: ${linesPerSecond.toFixed(2)}/s`);
      t.true(
        openLinesPerSecond <= maxOpenLogLinesPerSecond,
        `log lines once the breaker was open: ${openLinesPerSecond.toFixed(2)}/s`,
      );
    },
  );
}
