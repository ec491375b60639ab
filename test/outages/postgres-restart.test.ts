// PostgreSQL restarted, on a server of the test's own (test/support/postgres-server.ts; the machine's own
// server on 5432 is never touched): stopped with `pg_ctl stop -m fast` (its sessions terminated with 57P01,
// new connections refused), kept down for the 30 s of the outage, started again on the same port. The card
// service must pause, count nothing and process every message once within the bound after the start
// (test/support/outage-harness.ts). Needs root (the server runs as the postgres user).
import test from 'ava';
import { knownOutageBoundMs, measureOutage, type OutageKind } from '../support/outage-harness.js';
import { amqpUrl } from '../support/environment.js';
import { startPostgresServer, type PostgresServer } from '../support/postgres-server.js';

let server: PostgresServer | undefined;

const restart: OutageKind = {
  name: "PostgreSQL restarted (a server of the test's own stopped fast, down 30 s, started again)",
  boundMs: knownOutageBoundMs,
  async target(t) {
    server = await startPostgresServer();
    t.teardown(() => server!.tearDown());
    return { postgres: server.url, amqpUrl, own: true };
  },
  async begin() {
    await server!.stop();
    return async () => {
      await server!.start();
    };
  },
};

test.serial(
  `outage 8, ${restart.name}: the consumer pauses, nothing is counted or dead-lettered, and every message is processed once, within ${restart.boundMs / 1_000} s of the start`,
  (t) => measureOutage(t, restart, 'outage8'),
);
