/**
 * GET /metrics on a running service: users made through the API and a poison message published straight
 * onto the queue move the series they should (deliveries acked and dead-lettered, time in states, confirm
 * latency), the outbox ends empty, and the route sits where /viz sits (the admin port when there is one).
 */
import test from 'ava';
import { publishRaw, queueCounts } from './support/broker.js';
import { createTestEnvironment, query } from './support/environment.js';
import { createOneUser } from './support/load.js';
import { scrape, sumIn, valueIn, type Sample } from './support/metrics-text.js';
import { freePort, startService } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

const users = 5;

test('deliveries, state times, confirms and the outbox backlog move as users and a poison message go through', async (t) => {
  const environment = createTestEnvironment('metrics', { MAX_ATTEMPTS: '2' });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'both');
  t.teardown(() => service.stop());
  const { userQueue, cardQueue } = environment;
  const metricsUrl = `${service.url}/metrics`;

  const response = await fetch(metricsUrl);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const before = await scrape(metricsUrl);
  const delivered = (samples: Sample[], queue: string, outcome: string) =>
    valueIn(samples, 'ackstate_deliveries_total', { queue, outcome }) ?? 0;
  for (const queue of [userQueue, cardQueue]) {
    for (const outcome of ['acked', 'duplicate', 'retried', 'dead-lettered']) {
      t.not(
        valueIn(before, 'ackstate_deliveries_total', { queue, outcome }),
        undefined,
        `${queue} ${outcome} exists from the start`,
      );
    }
  }
  t.is(valueIn(before, 'ackstate_broker_connected'), 1);
  t.true(
    before.some((sample) => sample.name === 'process_cpu_user_seconds_total'),
    'default process metrics',
  );

  const created = await Promise.all(
    Array.from({ length: users }, (_, index) => createOneUser(() => service.url, `metrics-${index}`)),
  );
  t.is(created.filter(Boolean).length, users);
  await publishRaw(userQueue, ['{"this is": not JSON'], { messageId: 'metrics-poison' });

  await waitUntil(
    async () => {
      const rows = await query<{ n: string }>(environment.userDbUrl, 'SELECT count(*) AS n FROM cards');
      return Number(rows[0]!.n) === users;
    },
    { what: `cards for the ${users} users` },
  );
  const after = await waitUntil(
    async () => {
      const samples = await scrape(metricsUrl);
      const settled =
        delivered(samples, userQueue, 'acked') - delivered(before, userQueue, 'acked') >= users &&
        delivered(samples, cardQueue, 'acked') - delivered(before, cardQueue, 'acked') >= users &&
        delivered(samples, userQueue, 'dead-lettered') >= 1 &&
        valueIn(samples, 'ackstate_outbox_backlog', { service: 'user' }) === 0 &&
        valueIn(samples, 'ackstate_outbox_backlog', { service: 'card' }) === 0 &&
        valueIn(samples, 'ackstate_queue_messages', { queue: `${userQueue}.dead` }) === 1;
      return settled ? samples : undefined;
    },
    { what: 'the deliveries, the dead letter and an empty outbox in /metrics' },
  );

  // Each user is one delivery on the user queue (the card service) and one on the card queue (the user service).
  t.true(delivered(after, userQueue, 'acked') - delivered(before, userQueue, 'acked') >= users);
  t.true(delivered(after, cardQueue, 'acked') - delivered(before, cardQueue, 'acked') >= users);
  t.is(delivered(after, userQueue, 'dead-lettered'), 1);
  t.is(delivered(after, cardQueue, 'dead-lettered'), 0);
  t.is(
    valueIn(after, 'ackstate_delivery_duration_seconds_count', { queue: userQueue, outcome: 'acked' }),
    delivered(after, userQueue, 'acked'),
    'the duration histogram counts the same deliveries',
  );
  t.is(
    valueIn(after, 'ackstate_delivery_duration_seconds_bucket', { queue: userQueue, outcome: 'acked', le: '+Inf' }),
    delivered(after, userQueue, 'acked'),
  );
  const deliveryStates = (samples: Sample[]) =>
    sumIn(samples, 'ackstate_state_duration_seconds_count', { machine: 'delivery' });
  // A delivery machine carries one batch, timed once per state: at least one machine per queue left its states.
  t.true(deliveryStates(after) - deliveryStates(before) >= 2, 'the deliveries of both queues left timed states');
  t.true(sumIn(after, 'ackstate_state_duration_seconds_sum', { machine: 'delivery' }) > 0);

  // A user message and a card message per user, and the dead letter: all confirmed.
  const confirms = (samples: Sample[]) => valueIn(samples, 'ackstate_publish_confirm_seconds_count') ?? 0;
  t.true(confirms(after) - confirms(before) >= 2 * users + 1);
  t.true((valueIn(after, 'ackstate_publish_confirm_seconds_sum') ?? 0) > 0);
  t.is(sumIn(after, 'ackstate_publish_failures_total'), 0);

  t.is(valueIn(after, 'ackstate_outbox_oldest_unsent_age_seconds', { service: 'user' }), 0);
  t.is(valueIn(after, 'ackstate_queue_messages', { queue: userQueue }), 0);
  t.is(valueIn(after, 'ackstate_queue_consumers', { queue: userQueue }), 1);
  t.is(sumIn(after, 'ackstate_scrape_errors_total'), 0);
  t.is(valueIn(after, 'ackstate_actor_state', { actor: 'consumer:card', state: 'consuming' }), 1);
  t.is(sumIn(after, 'ackstate_consumer_pauses_total'), 0);
  t.is(sumIn(after, 'ackstate_supervisor_restarts_total'), 0);
  t.is((await queueCounts(`${userQueue}.dead`)).messages, 1, 'the metric agrees with the broker');
  t.false(
    after.some((sample) => sample.name.startsWith('ackstate_') && !(sample.value >= 0)),
    'no ackstate_ sample is negative or NaN while everything is up',
  );
});

test('with ADMIN_PORT, /metrics is served on the admin port only', async (t) => {
  const adminPort = await freePort();
  const environment = createTestEnvironment('metricsadmin', { ADMIN_PORT: String(adminPort) });
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env, 'both');
  t.teardown(() => service.stop());

  t.is((await fetch(`${service.url}/metrics`)).status, 404);
  const samples = await scrape(`http://127.0.0.1:${adminPort}/metrics`);
  t.is(valueIn(samples, 'ackstate_actor_state', { actor: 'supervisor', state: 'running' }), 1);
  t.is((await fetch(`http://127.0.0.1:${adminPort}/metrics`, { method: 'POST' })).status, 404);
});
