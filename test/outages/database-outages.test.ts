// Database outages, each made by the test on its own role, database or proxy (the shared PostgreSQL keeps
// running), and each ended WITHOUT touching the service's sessions, as an outage ends in production: the
// card service (`node dist/main.js card`) has messages queued during a 30 s outage and must pause instead of
// looping, count no attempt for the outage, dead-letter nothing, and process every message once within a
// stated bound after the outage ends (test/support/outage-harness.ts). The figures are printed.
//
// Here and not in test/scenarios/: nothing shared is stopped or blocked. Serial (ava.serial.config.js):
// each outage lasts 30 s and measures the child's CPU, which a loaded machine would blur.
import test from 'ava';
import pg from 'pg';
import {
  ident,
  knownOutageBoundMs,
  lockLikeBoundMs,
  measureOutage,
  otherRole,
  type Outage,
  type OutageKind,
} from '../support/outage-harness.js';
import { startTcpProxy, throughProxy } from '../support/tcp-proxy.js';

const terminate = (outage: Outage, column: 'datname' | 'usename', value: string) =>
  outage.admin(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${column} = $1 AND pid <> pg_backend_pid()`,
    [value],
  );

/** The service's session settings: a statement over 1 s is cancelled (57014), as many deployments set it. */
function withStatementTimeout(outage: Outage): void {
  const url = new URL(outage.serviceUrl);
  url.searchParams.set('options', '-c statement_timeout=1000');
  outage.serviceUrl = url.toString();
}

/** Sessions another application holds on the service's database: as many as its connection limit then allows. */
const otherSessions = 12;
/** Every table the card service writes: its own, and the runtime's (inbox, outbox, attempt counts). */
const writtenTables = ['users', 'cards', 'inbox', 'outbox', 'delivery_attempts'];

const kinds: OutageKind[] = [
  {
    name: 'new connections refused (a proxy that resets every connection), then let through again',
    boundMs: knownOutageBoundMs,
    async prepare(t, outage) {
      const proxy = await startTcpProxy(Number(new URL(outage.target.postgres).port));
      t.teardown(() => proxy.close());
      outage.proxy = proxy;
      outage.serviceUrl = throughProxy(outage.serviceUrl, proxy);
    },
    async begin(_t, { proxy }) {
      proxy!.cut();
      return async () => proxy!.restore();
    },
  },
  {
    name: "the service's role refused login (credentials rotated: NOLOGIN, its sessions terminated), then LOGIN again",
    boundMs: knownOutageBoundMs,
    async begin(t, outage) {
      await outage.admin(`ALTER ROLE ${ident(outage.role)} NOLOGIN`);
      t.teardown(async () => {
        await outage.admin(`ALTER ROLE ${ident(outage.role)} LOGIN`).catch(() => {});
      });
      await terminate(outage, 'usename', outage.role);
      return async () => {
        await outage.admin(`ALTER ROLE ${ident(outage.role)} LOGIN`);
      };
    },
  },
  {
    name: 'a demoted primary (default_transaction_read_only on, its sessions terminated), then writable again (RESET only)',
    boundMs: knownOutageBoundMs,
    async begin(_t, outage) {
      await outage.admin(`ALTER DATABASE ${ident(outage.database)} SET default_transaction_read_only = on`);
      await terminate(outage, 'datname', outage.database);
      // The sessions opened during the outage keep their read-only default: nobody ends them here, as
      // nobody does in production when a database becomes writable again.
      return async () => {
        await outage.admin(`ALTER DATABASE ${ident(outage.database)} RESET default_transaction_read_only`);
      };
    },
  },
  {
    name: 'a lock held past the statement timeout (LOCK TABLE cards IN ACCESS EXCLUSIVE MODE, statement_timeout 1 s)',
    boundMs: lockLikeBoundMs,
    async prepare(_t, outage) {
      withStatementTimeout(outage);
    },
    async begin(t, outage) {
      const holder = new pg.Client({ connectionString: outage.checkUrl });
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
    name: `too many connections: the database's CONNECTION LIMIT ${otherSessions} reached by another application's idle sessions`,
    boundMs: knownOutageBoundMs,
    async begin(t, outage) {
      const other = await otherRole(t, outage);
      const url = new URL(outage.checkUrl);
      url.username = other;
      const clients: pg.Client[] = [];
      t.teardown(async () => {
        await Promise.all(clients.map((client) => client.end().catch(() => {})));
      });
      for (let index = 0; index < otherSessions; index += 1) {
        const client = new pg.Client({ connectionString: url.toString() });
        client.on('error', () => {});
        clients.push(client);
        await client.connect();
      }
      await outage.admin(`ALTER DATABASE ${ident(outage.database)} CONNECTION LIMIT ${otherSessions}`);
      await terminate(outage, 'usename', outage.role);
      // What the service meets from now on: 53300, too many connections for the database.
      const refused = new pg.Client({ connectionString: outage.serviceUrl });
      refused.on('error', () => {});
      const code = await refused.connect().then(
        async () => {
          await refused.end();
          return 'connected';
        },
        (error: { code?: string }) => error.code,
      );
      if (code !== '53300') throw new Error(`a new session of the service's role got ${code}, not 53300`);
      // The other application goes away; the limit stays, above the service's pool (10).
      return async () => {
        await Promise.all(clients.map((client) => client.end()));
      };
    },
  },
  {
    name: 'a statement timeout hit by every write (statement_timeout 1 s, a trigger sleeping 3 s before each insert)',
    boundMs: lockLikeBoundMs,
    async prepare(_t, outage) {
      withStatementTimeout(outage);
    },
    async begin(t, outage) {
      const dropTriggers = [
        'BEGIN',
        ...writtenTables.map((table) => `DROP TRIGGER IF EXISTS ackstate_test_stall ON ${ident(table)}`),
        'DROP FUNCTION IF EXISTS ackstate_test_stall()',
        'COMMIT',
      ].join('; ');
      const session = new pg.Client({ connectionString: outage.checkUrl });
      session.on('error', () => {});
      await session.connect();
      t.teardown(() => session.end().catch(() => {}));
      await session.query(
        'CREATE FUNCTION ackstate_test_stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$',
      );
      for (const table of writtenTables) {
        await session.query(
          `CREATE TRIGGER ackstate_test_stall BEFORE INSERT ON ${ident(table)} FOR EACH ROW EXECUTE FUNCTION ackstate_test_stall()`,
        );
      }
      return async () => {
        await session.query(dropTriggers);
        await session.end();
      };
    },
  },
  {
    name: "the database's network silently gone (a proxy black-holes every connection, open and new), then back, its hung connections left as they are",
    boundMs: knownOutageBoundMs,
    // A query without an answer fails after this long; the default, 30 s, would outlast the outage.
    env: { DB_QUERY_TIMEOUT_MS: '5000' },
    async prepare(t, outage) {
      const proxy = await startTcpProxy(Number(new URL(outage.target.postgres).port));
      t.teardown(() => proxy.close());
      outage.proxy = proxy;
      outage.serviceUrl = throughProxy(outage.serviceUrl, proxy);
    },
    async begin(_t, { proxy, target }) {
      proxy!.blackHole();
      // New connections pass again; those opened before or during the outage stay hung, as after a partition.
      return async () => proxy!.moveTo(Number(new URL(target.postgres).port), { reset: false });
    },
  },
];

for (const [index, kind] of kinds.entries()) {
  test.serial(
    `outage ${index + 1}, ${kind.name}: the consumer pauses, nothing is counted or dead-lettered, and every message is processed once, within ${kind.boundMs / 1_000} s of the end`,
    (t) => measureOutage(t, kind, `outage${index + 1}`),
  );
}
