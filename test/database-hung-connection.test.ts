// A pooled connection whose server stopped answering without resetting it (a primary that vanished, an
// address moved): the query on it times out, and the pool must not hand that connection out again. Made
// with a loopback proxy that black-holes the open connection and lets new ones through to the shared
// PostgreSQL, which is not touched.
import test from 'ava';
import { sql } from 'kysely';
import { createDatabase } from '../src/db/database.js';
import { postgresServer } from './support/environment.js';
import { startTcpProxy, throughProxy } from './support/tcp-proxy.js';

test('a connection whose query got no answer is dropped from the pool, and the next query takes a new one', async (t) => {
  const proxy = await startTcpProxy(Number(new URL(postgresServer).port || 5432), new URL(postgresServer).hostname);
  t.teardown(() => proxy.close());
  const db = createDatabase({
    url: throughProxy(`${postgresServer}/postgres`, proxy),
    maxConnections: 1,
    queryTimeoutMs: 1_000,
  });
  t.teardown(() => db.destroy());
  await sql`SELECT 1`.execute(db); // the pool's one connection, idle now

  proxy.blackHole();
  proxy.moveTo(Number(new URL(postgresServer).port || 5432), { reset: false }); // it stays hung; new ones pass
  await t.throwsAsync(
    db.transaction().execute((trx) => sql`SELECT 1`.execute(trx)),
    {
      message: /Query read timeout|not queryable/,
    },
  );

  const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(db);
  t.deepEqual(rows, [{ one: 1 }]);
});
