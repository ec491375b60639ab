/**
 * /readyz follows the service's links: with its broker link cut it answers 503 naming the broker, with its
 * database link cut 503 naming the databases (and, once a delivery has met the outage, the paused
 * consumer, since when and why), and 200 again after each link is restored. /healthz stays 200
 * throughout, and /metrics keeps answering, with NaN where a probe could not ask and the pause counted in
 * ackstate_consumer_paused_seconds. The links go through loopback proxies: the shared broker and database
 * are never stopped.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { publishRaw } from './support/broker.js';
import { amqpUrl, createTestEnvironment, query } from './support/environment.js';
import { scrape, valueIn } from './support/metrics-text.js';
import { startService, type ServiceProcess } from './support/service-process.js';
import { startTcpProxy, throughProxy } from './support/tcp-proxy.js';
import { waitUntil } from './support/wait.js';

interface ReadyState {
  readonly status: number;
  readonly body: { status: string; checks: Record<string, string> };
}

async function readiness(service: ServiceProcess): Promise<ReadyState> {
  const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(30_000) });
  return { status: response.status, body: (await response.json()) as ReadyState['body'] };
}

const waitForReadiness = (service: ServiceProcess, what: string, accept: (state: ReadyState) => boolean) =>
  waitUntil(
    async () => {
      const state = await readiness(service);
      return accept(state) ? state : undefined;
    },
    {
      timeoutMs: 120_000,
      what: async () => `${what}; last: ${JSON.stringify(await readiness(service).catch(String))}`,
    },
  );

const isReady = (state: ReadyState) => state.status === 200 && state.body.status === 'ready';

test('/readyz turns 503 while the broker or the database link is cut, and 200 again when it is restored', async (t) => {
  const broker = new URL(amqpUrl);
  const brokerProxy = await startTcpProxy(Number(broker.port || 5672), broker.hostname);
  const environment = createTestEnvironment('readiness');
  const database = new URL(environment.userDbUrl);
  const databaseProxy = await startTcpProxy(Number(database.port || 5432), database.hostname);
  t.teardown(async () => {
    await brokerProxy.close();
    await databaseProxy.close();
    await environment.cleanUp();
  });
  const service = await startService(
    {
      ...environment.env,
      AMQP_URL: throughProxy(amqpUrl, brokerProxy),
      USER_DB_URL: throughProxy(environment.userDbUrl, databaseProxy),
      CARD_DB_URL: throughProxy(environment.cardDbUrl, databaseProxy),
    },
    'both',
  );
  t.teardown(() => service.stop());
  const metricsUrl = `${service.url}/metrics`;

  const ready = await readiness(service);
  t.true(isReady(ready));
  t.like(ready.body.checks, {
    broker: 'connected',
    supervisor: 'running',
    'user.database': 'reachable',
    'card.database': 'reachable',
    'user.consumer': 'consuming',
    'card.consumer': 'consuming',
  });

  // The broker link.
  brokerProxy.cut();
  const brokerDown = await waitForReadiness(
    service,
    '/readyz to say the broker is down',
    (state) => state.status === 503,
  );
  t.is(brokerDown.body.status, 'not ready');
  t.is(brokerDown.body.checks.broker, 'disconnected');
  t.is((await fetch(`${service.url}/healthz`)).status, 200, 'still alive');
  const withoutBroker = await scrape(metricsUrl);
  t.is(valueIn(withoutBroker, 'ackstate_broker_connected'), 0);
  t.true(
    Number.isNaN(valueIn(withoutBroker, 'ackstate_queue_messages', { queue: environment.userQueue })),
    'no depth to report',
  );
  t.true(valueIn(withoutBroker, 'ackstate_scrape_errors_total', { probe: 'queues' })! >= 1);
  t.true(valueIn(withoutBroker, 'ackstate_broker_disconnects_total')! >= 1);

  brokerProxy.restore();
  await waitForReadiness(service, '/readyz to be ready after the broker link is restored', isReady);
  const brokerBack = await scrape(metricsUrl);
  t.is(valueIn(brokerBack, 'ackstate_broker_connected'), 1);
  t.true(valueIn(brokerBack, 'ackstate_broker_reconnects_total')! >= 1);
  t.is(valueIn(brokerBack, 'ackstate_queue_messages', { queue: environment.userQueue }), 0);

  // The database link. A message arriving meanwhile fails on the database, and its consumer pauses.
  const cutAt = Date.now();
  databaseProxy.cut();
  const databaseDown = await waitForReadiness(
    service,
    '/readyz to say the databases are down',
    (state) => state.status === 503,
  );
  t.is(databaseDown.body.status, 'not ready');
  t.regex(databaseDown.body.checks['user.database'] ?? '', /^unreachable: /);
  t.is(databaseDown.body.checks.broker, 'connected', 'the broker is not blamed');
  // Users created together while the database is out share a failed transaction: each gets its 503.
  const refused = await Promise.all(
    [1, 2, 3, 4].map((n) =>
      fetch(`${service.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Outage', email: `outage-${n}-${randomUUID()}@example.com` }),
      }),
    ),
  );
  t.deepEqual(
    refused.map((response) => response.status),
    [503, 503, 503, 503],
  );
  const userId = randomUUID();
  await publishRaw(environment.userQueue, [
    JSON.stringify({
      id: userId,
      name: 'Paused',
      email: `${userId}@example.com`,
      created_at: new Date().toISOString(),
    }),
  ]);
  const paused = await waitForReadiness(service, "/readyz to show the card service's consumer paused", (state) =>
    (state.body.checks['card.consumer'] ?? '').startsWith('paused since '),
  );
  t.is(paused.status, 503);
  // `paused since <ISO time> (<trip>: <what it means>; <the error>)`: since when and why.
  const pausedCheck = paused.body.checks['card.consumer']!;
  const [, since, trip] = /^paused since (\S+) \(([a-z-]+): [^;]+; .+\)$/.exec(pausedCheck) ?? [];
  t.truthy(since, pausedCheck);
  t.true(Date.parse(since!) >= cutAt && Date.parse(since!) <= Date.now(), `${since} is within the outage`);
  t.true(['unavailable', 'failure-rate', 'unrecordable'].includes(trip!), pausedCheck);
  t.is(paused.body.checks['user.consumer'], 'consuming', 'the consumer that met no outage says only its state');
  const withoutDatabase = await scrape(metricsUrl);
  t.true(
    Number.isNaN(valueIn(withoutDatabase, 'ackstate_outbox_backlog', { service: 'user' })),
    'no backlog to report',
  );
  t.true(valueIn(withoutDatabase, 'ackstate_scrape_errors_total', { probe: 'outbox:user' })! >= 1);
  t.true(valueIn(withoutDatabase, 'ackstate_consumer_pauses_total', { queue: environment.userQueue })! >= 1);
  t.is(valueIn(withoutDatabase, 'ackstate_actor_state', { actor: 'consumer:card', state: 'paused' }), 1);
  const pausedSeconds = valueIn(withoutDatabase, 'ackstate_consumer_paused_seconds', { queue: environment.userQueue });
  t.true(pausedSeconds! > 0 && pausedSeconds! <= (Date.now() - cutAt) / 1_000, `paused for ${pausedSeconds} s`);
  t.is((await fetch(`${service.url}/healthz`)).status, 200, 'still alive');

  databaseProxy.restore();
  const back = await waitForReadiness(service, '/readyz to be ready after the database link is restored', isReady);
  t.is(back.body.checks['card.consumer'], 'consuming');
  t.is(valueIn(await scrape(metricsUrl), 'ackstate_consumer_paused_seconds', { queue: environment.userQueue }), 0);
  await waitUntil(
    async () => (await query(environment.cardDbUrl, 'SELECT 1 FROM cards WHERE user_id = $1', [userId])).length === 1,
    { timeoutMs: 120_000, what: 'the card of the message that arrived during the outage' },
  );
  t.is(valueIn(await scrape(metricsUrl), 'ackstate_outbox_backlog', { service: 'user' }), 0);
});
