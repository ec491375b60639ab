/**
 * The order-payment example, run in-process with names of its own: an order's process is a durable actor
 * started by `order.placed` and moved on by `payment.received` (two sources on one topic exchange), with a
 * reminder and a cancellation on durable timers. Checked against the real database and broker.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { deadLetterHeader } from 'ackstate';
import { orderPaymentServices, type OrderPaymentNames } from '../../examples/order-payment/system.js';
import { peekQueue, publishToExchange, queueCounts } from '../support/broker.js';
import { amqpUrl, postgresServer, query } from '../support/environment.js';
import { startTestRuntime } from '../support/runtime.js';
import { waitUntil } from '../support/wait.js';

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function post(url: string, body: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

test('order payment: paid in time, cancelled without a payment, a payment for no order dead-lettered', async (t) => {
  const id = `orderpay_${randomBytes(4).toString('hex')}`;
  const names: OrderPaymentNames = {
    service: `t_${id}`,
    exchange: `t_${id}_events`,
    emailQueue: `t_${id}_emails`,
    outcomesQueue: `t_${id}_outcomes`,
    databaseUrl: `${postgresServer}/ackstate_t_${id}`,
    reminderMs: 2_000,
    timeoutMs: 500,
  };
  const actorQueue = (routingKey: string) => `${names.service}.order.${names.exchange}.${routingKey}`;
  const { baseUrl } = await startTestRuntime(
    t,
    {
      queues: [
        names.emailQueue,
        names.outcomesQueue,
        actorQueue('order.placed'),
        actorQueue('payment.received'),
        `${names.service}.order.timers`,
      ],
      exchanges: [names.exchange],
      databases: [names.databaseUrl],
    },
    { broker: { urls: amqpUrl }, services: orderPaymentServices(names) },
  );
  const stateOf = async (orderId: string) =>
    (
      await query<{ state: string }>(names.databaseUrl, 'SELECT state FROM actor_instances WHERE instance_id = $1', [
        orderId,
      ])
    )[0]?.state;

  const refused = await post(`${baseUrl}/orders`, { email: 'not an email', amountCents: 100 });
  t.is(refused.status, 400, 'a malformed body is a 400');
  t.regex(String(refused.body.error), /email/);

  const paid = await post(`${baseUrl}/orders`, { email: 'ada@example.com', amountCents: 4_200 });
  const unpaid = await post(`${baseUrl}/orders`, { email: 'bob@example.com', amountCents: 990 });
  t.is(paid.status, 202);
  const paidId = String(paid.body.orderId);
  const unpaidId = String(unpaid.body.orderId);
  await waitUntil(async () => (await stateOf(paidId)) !== undefined, { what: 'the first order started' });
  t.is((await post(`${baseUrl}/orders/${paidId}/payments`, { amountCents: 4_200 })).status, 202);

  await waitUntil(async () => (await stateOf(paidId)) === 'paid', { what: 'the first order paid', timeoutMs: 30_000 });
  await waitUntil(async () => (await stateOf(unpaidId)) === 'cancelled', {
    what: 'the second order cancelled after its reminder',
    timeoutMs: 30_000,
  });
  const history = await query<{ to_state: string }>(
    names.databaseUrl,
    'SELECT to_state FROM actor_history WHERE instance_id = $1 ORDER BY id',
    [unpaidId],
  );
  t.deepEqual(
    history.map((row) => row.to_state),
    ['awaitingPayment', 'reminded', 'cancelled'],
  );

  await waitUntil(async () => (await queueCounts(names.outcomesQueue)).messages === 2, { what: 'both outcomes sent' });
  const bodies = async (queue: string) =>
    (await peekQueue(queue)).map((message) => JSON.parse(message.content.toString()) as Record<string, unknown>);
  t.deepEqual(
    (await bodies(names.outcomesQueue)).map((body) => `${String(body.type)} ${String(body.orderId)}`).sort(),
    [`order.cancelled ${unpaidId}`, `order.paid ${paidId}`].sort(),
  );
  // Ada's reminder too, if her payment took longer than the reminder's delay on a loaded machine.
  const emails = async () =>
    (await bodies(names.emailQueue)).map((body) => `${String(body.template)} ${String(body.to)}`);
  const expected = ['order-paid ada@example.com', 'payment-reminder bob@example.com'];
  const sent = await waitUntil(
    async () => {
      const all = await emails();
      return expected.every((email) => all.includes(email)) ? all : undefined;
    },
    { what: "Ada's receipt and Bob's reminder" },
  );
  t.deepEqual(
    sent.filter((email) => email.startsWith('order-paid')),
    ['order-paid ada@example.com'],
  );

  // A payment for an order this service never saw: dead-lettered with the reason, nothing created.
  const stranger = '00000000-0000-4000-8000-000000000001';
  const strayPayment = { paymentId: '00000000-0000-4000-8000-000000000002', orderId: stranger, amountCents: 100 };
  await publishToExchange(names.exchange, 'payment.received', JSON.stringify(strayPayment));
  const deadQueue = `${actorQueue('payment.received')}.dead`;
  await waitUntil(async () => (await queueCounts(deadQueue)).messages === 1, {
    what: 'the stray payment dead-lettered',
  });
  const [dead] = await peekQueue(deadQueue);
  t.regex(String(dead!.properties.headers?.[deadLetterHeader.reason]), new RegExp(`no instance ${stranger}`));
  t.is(await stateOf(stranger), undefined);
});
