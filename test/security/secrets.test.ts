/**
 * Secrets never printed: the service runs with a broker password and database passwords in its URLs,
 * makes users, and goes through failures on its own links (broker link cut, database link cut, sessions
 * terminated). No log line, stderr, /readyz, /healthz, /viz JSON, /metrics or error response may hold a
 * password, as written or URL-encoded. Start-ups that fail (a bad setting, a database URL that names no
 * database) must not print them either.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { createOneUser } from '../support/load.js';
import { amqpUrl, createTestEnvironment, query } from '../support/environment.js';
import { createBrokerUser } from '../support/broker-user.js';
import { findSecrets } from '../support/secret-search.js';
import { mainScript, startService } from '../support/service-process.js';
import { terminateSessions } from '../support/services-control.js';
import { startTcpProxy, throughProxy } from '../support/tcp-proxy.js';
import { sleep, waitUntil } from '../support/wait.js';

// Distinctive, and with characters that a URL must encode (`#`, `@`, `/`), so the encoded forms differ.
const brokerPassword = `Br0ker#${randomBytes(9).toString('hex')}@x/y`;
const databasePassword = `Db#${randomBytes(9).toString('hex')}@p/q`;
const secrets = [brokerPassword, databasePassword];

function withPassword(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = encodeURIComponent(password);
  return parsed.toString().replace(/\/$/, '');
}

async function bodyOf(url: string, init?: RequestInit): Promise<string> {
  const response = await fetch(url, init);
  return `${response.status} ${await response.text()}`;
}

test('no password reaches the log, stderr or any HTTP answer, through outages of its own links', async (t) => {
  const brokerUser = await createBrokerUser(`ackstate_secret_${randomBytes(4).toString('hex')}`, brokerPassword);
  t.teardown(() => brokerUser.remove());
  const broker = new URL(amqpUrl);
  const brokerProxy = await startTcpProxy(Number(broker.port || 5672), broker.hostname);
  const environment = createTestEnvironment('secrets');
  const databasePort = Number(new URL(environment.userDbUrl).port || 5432);
  const databaseProxy = await startTcpProxy(databasePort, new URL(environment.userDbUrl).hostname);
  t.teardown(async () => {
    await brokerProxy.close();
    await databaseProxy.close();
    await environment.cleanUp();
  });

  const env = {
    ...environment.env,
    AMQP_URL: throughProxy(withPassword(amqpUrl, brokerUser.name, brokerPassword), brokerProxy),
    USER_DB_URL: throughProxy(withPassword(environment.userDbUrl, 'postgres', databasePassword), databaseProxy),
    CARD_DB_URL: throughProxy(withPassword(environment.cardDbUrl, 'postgres', databasePassword), databaseProxy),
  };
  const service = await startService(env, 'both');
  t.teardown(() => service.stop());
  const responses = new Map<string, string>();
  const answer = async (label: string, path: string, init?: RequestInit) =>
    responses.set(`${label} ${path}`, await bodyOf(`${service.url}${path}`, init));

  const created: string[] = [];
  const makeUser = async (label: string) => {
    const id = await createOneUser(() => service.url, label);
    if (id) created.push(id);
  };
  await makeUser('before');

  // The broker link is cut: the connection drops and comes back.
  brokerProxy.cut();
  await waitUntil(async () => (await fetch(`${service.url}/readyz`)).status === 503, {
    what: '/readyz to say not ready',
  });
  await answer('broker cut', '/readyz');
  await answer('broker cut', '/metrics');
  await sleep(1_500);
  brokerProxy.restore();
  await service.waitForReady(120_000);

  // The database link is cut: a POST is a 503, /readyz names the unreachable database.
  databaseProxy.cut();
  await answer('database cut', '/users', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Cut', email: `cut-${randomBytes(4).toString('hex')}@example.com` }),
  });
  await answer('database cut', '/readyz');
  await answer('database cut', '/metrics');
  await sleep(1_500);
  databaseProxy.restore();
  await service.waitForReady(120_000);

  // Every session of this test's databases is terminated (the proxy keeps the link, PostgreSQL ends them).
  await terminateSessions(new URL(environment.userDbUrl).pathname.slice(1));
  await terminateSessions(new URL(environment.cardDbUrl).pathname.slice(1));
  await makeUser('after-terminate');
  await service.waitForReady(120_000);
  await makeUser('after');

  await waitUntil(
    async () => {
      const rows = await query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM cards');
      return Number(rows[0]!.n) >= created.length;
    },
    { timeoutMs: 120_000, what: `cards for the ${created.length} users created` },
  );

  for (const path of ['/readyz', '/healthz', '/viz/state.json', '/viz/machines.json', '/metrics', '/nowhere'])
    await answer('after', path);
  await answer('after', '/users', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"name":',
  });
  await answer('after', '/users/not-a-uuid');

  const places = new Map<string, string>([
    ['log', service.logs.map((line) => JSON.stringify(line)).join('\n')],
    ['stderr', service.stderr.join('')],
    ...responses,
  ]);
  t.deepEqual(findSecrets(places, secrets), []);
  // The test saw what it meant to: the outages happened, and the answers were the expected ones.
  t.regex(responses.get('database cut /users') ?? '', /^503 /);
  t.regex(responses.get('broker cut /readyz') ?? '', /"broker":"disconnected"/);
  t.true(service.logs.some((line) => line.machine === 'connection' && line.to === 'reconnecting'));
  t.regex(responses.get('database cut /readyz') ?? '', /"user\.database":"unreachable: /);
});

async function failedStartUp(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [mainScript, 'both'], {
    env: { PATH: process.env.PATH ?? '', HTTP_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, output };
}

const urls = () => {
  const environment = createTestEnvironment('secrets-startup');
  return {
    AMQP_URL: withPassword(amqpUrl, 'nobody', brokerPassword),
    USER_DB_URL: withPassword(environment.userDbUrl, 'postgres', databasePassword),
    CARD_DB_URL: withPassword(environment.cardDbUrl, 'postgres', databasePassword),
  };
};

test('a start-up stopped by a bad setting prints no password', async (t) => {
  const badSettings: Record<string, string>[] = [
    { PREFETCH: 'lots' },
    { USER_DB_URL: `mysql://root:${encodeURIComponent(databasePassword)}@db/x` },
    { AMQP_URL: `http://u:${encodeURIComponent(brokerPassword)}@h` },
  ];
  for (const bad of badSettings) {
    const { code, output } = await failedStartUp({ ...urls(), ...bad });
    t.is(code, 1);
    t.regex(output, /invalid configuration/);
    t.deepEqual(findSecrets(new Map([[Object.keys(bad)[0]!, output]]), secrets), []);
  }
});

test('a start-up that fails on a database URL prints the URL without its password', async (t) => {
  const noDatabaseName = withPassword('postgres://127.0.0.1:5432', 'postgres', databasePassword) + '/';
  const { code, output } = await failedStartUp({ ...urls(), USER_DB_URL: noDatabaseName });
  t.is(code, 1);
  t.regex(output, /start-up failed/);
  t.regex(output, /postgres:\/\/postgres:\*\*\*@/, 'the URL is shown, redacted');
  t.deepEqual(findSecrets(new Map([['start-up failed', output]]), secrets), []);
});
