/**
 * Admin surfaces: with ADMIN_PORT set, /viz is served on its own server (loopback by default) and not on
 * the API's port; without it, /viz stays on the API's port. No HTTP route, on either port, can turn a
 * failpoint on: requests aimed at plausible failpoint switches change nothing.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { createTestEnvironment, query } from '../support/environment.js';
import { freePort, startService } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

const vizPaths = ['/viz', '/viz/state.json', '/viz/machines.json', '/viz/app.js', '/viz/machines/delivery.svg'];

test('with ADMIN_PORT, /viz is served on the admin port on loopback and is gone from the API port', async (t) => {
  const environment = createTestEnvironment('adminport');
  t.teardown(() => environment.cleanUp());
  const adminPort = await freePort();
  const service = await startService({ ...environment.env, ADMIN_PORT: String(adminPort) }, 'user');
  t.teardown(() => service.stop());
  const admin = `http://127.0.0.1:${adminPort}`;

  for (const path of vizPaths) {
    t.is((await fetch(`${service.url}${path}`)).status, 404, `API port ${path}`);
    t.is((await fetch(`${admin}${path}`)).status, 200, `admin port ${path}`);
  }
  // The admin server holds the admin routes only, and only for reading.
  t.is((await fetch(`${admin}/users/00000000-0000-4000-8000-000000000000`)).status, 404);
  t.is((await fetch(`${admin}/viz/state.json`, { method: 'POST', body: '{}' })).status, 404);
  t.is((await fetch(`${admin}/viz`, { method: 'DELETE' })).status, 404);
  const listening = service.logs.find((line) => line.message === 'admin listening');
  t.is(listening?.host, '127.0.0.1', 'loopback by default');
  t.is(listening?.port, adminPort);
  t.is((await fetch(`${service.url}/readyz`)).status, 200, 'the API port still serves the API');
});

test('without ADMIN_PORT, /viz stays on the API port', async (t) => {
  const environment = createTestEnvironment('adminshared');
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'user');
  t.teardown(() => service.stop());
  for (const path of vizPaths) t.is((await fetch(`${service.url}${path}`)).status, 200, path);
  t.false(service.logs.some((line) => line.message === 'admin listening'));
});

test('no HTTP request can turn a failpoint on', async (t) => {
  const environment = createTestEnvironment('switches');
  t.teardown(() => environment.cleanUp());
  const adminPort = await freePort();
  const service = await startService({ ...environment.env, ADMIN_PORT: String(adminPort) }, 'both');
  t.teardown(() => service.stop());
  const spec = 'user.persist=error*1000;card.persist=error*1000;card.beforeAck=exit*1';
  const targets = [service.url, `http://127.0.0.1:${adminPort}`];
  const paths = [
    '/failpoints',
    '/admin/failpoints',
    '/debug/failpoints',
    '/viz/failpoints',
    '/_failpoints',
    `/?FAILPOINTS=${encodeURIComponent(spec)}`,
  ];
  for (const base of targets) {
    for (const path of paths) {
      for (const method of ['POST', 'PUT', 'PATCH']) {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: { 'content-type': 'application/json', 'x-failpoints': spec },
          body: JSON.stringify({ FAILPOINTS: spec, failpoints: spec, 'card.persist': 'error*1000' }),
        });
        t.true(
          response.status === 404 || response.status === 415,
          `${method} ${base}${path} answered ${response.status}`,
        );
      }
    }
  }
  // A user created with the switch in its query string and headers is processed as usual.
  const email = `fp-${randomBytes(4).toString('hex')}@example.com`;
  const created = await fetch(`${service.url}/users?FAILPOINTS=${encodeURIComponent(spec)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-failpoints': spec, cookie: `FAILPOINTS=${spec}` },
    body: JSON.stringify({ name: 'Failpoint', email }),
  });
  t.is(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  await waitUntil(
    async () => (await query(environment.userDbUrl, 'SELECT 1 FROM cards WHERE user_id = $1', [id])).length === 1,
    {
      what: 'the card of the user created with FAILPOINTS in the request',
    },
  );
  const faulted = service.logs.filter(
    (line) => line.to === 'rollingBack' || JSON.stringify(line).includes('failpoint'),
  );
  t.deepEqual(faulted, [], 'no delivery failed, no failpoint fired');
  t.is(service.child.exitCode, null);
});
