/**
 * The account-events example, run in-process with names of its own: a topic exchange, two subscribers of one
 * event each on its own queue, two services sharing one database. Checked against the real database and broker.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { accountEventServices, type AccountEventsNames } from '../../examples/account-events/system.js';
import { deadLetterHeader } from 'ackstate';
import { peekQueue, publishToExchange, queueCounts } from '../support/broker.js';
import { amqpUrl, postgresServer, query } from '../support/environment.js';
import { scrape, sumIn } from '../support/metrics-text.js';
import { startTestRuntime } from '../support/runtime.js';
import { waitUntil } from '../support/wait.js';

interface Account {
  id: string;
  email: string;
  created_at: string;
}

async function post(baseUrl: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function createAccount(baseUrl: string, email: string): Promise<Account> {
  const { status, body } = await post(baseUrl, { email });
  if (status !== 201) throw new Error(`POST /accounts answered ${status}: ${JSON.stringify(body)}`);
  return body as Account;
}

test('account events: one topic exchange, two subscribers on their own queues, one shared database', async (t) => {
  const id = `acctev_${randomBytes(4).toString('hex')}`;
  const names: AccountEventsNames = {
    exchange: `t_${id}_account_events`,
    welcomeQueue: `t_${id}_welcome`,
    auditQueue: `t_${id}_audit`,
    accountsDatabaseUrl: `${postgresServer}/ackstate_t_${id}_accounts`,
    subscribersDatabaseUrl: `${postgresServer}/ackstate_t_${id}_subscribers`,
  };
  const created = {
    queues: [names.welcomeQueue, names.auditQueue],
    exchanges: [names.exchange],
    databases: [names.accountsDatabaseUrl, names.subscribersDatabaseUrl],
  };
  const { baseUrl, stop } = await startTestRuntime(t, created, {
    broker: { urls: amqpUrl },
    services: accountEventServices(names),
    consumers: { retry: { baseMs: 50, maxMs: 1_000 } },
  });
  const subscribers = names.subscribersDatabaseUrl;
  const welcomeRows = () =>
    query<{ account_id: string; email: string }>(subscribers, 'SELECT account_id, email FROM welcome_emails');
  const auditRows = () =>
    query<{ event: string; routing_key: string; account_id: string }>(
      subscribers,
      'SELECT event, routing_key, account_id FROM audit_log ORDER BY id',
    );
  const deliveries = async (queue: string, outcome: string) =>
    sumIn(await scrape(`${baseUrl}/metrics`), 'ackstate_deliveries_total', { queue, outcome });
  const processed = async (accounts: readonly Account[]) => {
    const [welcome, audit] = [await welcomeRows(), await auditRows()];
    return accounts.every(
      (account) =>
        welcome.some((row) => row.account_id === account.id) &&
        audit.some((row) => row.account_id === account.id && row.event === 'account.created'),
    );
  };
  /** Exactly one welcome row and one account.created audit row per account, and none for anything else. */
  const checkOnePerAccount = async (accounts: readonly Account[]) => {
    const welcome = await welcomeRows();
    const created = (await auditRows()).filter((row) => row.event === 'account.created');
    const ids = accounts.map((account) => account.id).sort();
    t.deepEqual(welcome.map((row) => row.account_id).sort(), ids, 'one welcome row per account');
    t.deepEqual(created.map((row) => row.account_id).sort(), ids, 'one account.created audit row per account');
    for (const account of accounts) {
      t.is(welcome.find((row) => row.account_id === account.id)?.email, account.email);
    }
  };

  // Both subscribers share one database, each with its own migration table beside the runtime's.
  const tables = await query<{ tablename: string }>(
    subscribers,
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  t.like(
    Object.fromEntries(tables.map((row) => [row.tablename, true])),
    { welcome_emails: true, audit_log: true, welcome_migration: true, audit_migration: true, inbox: true },
    'both services migrated the shared database, each in its own migration table',
  );

  // A few accounts over HTTP: each event reaches both subscribers through the topic exchange.
  const accounts = await Promise.all(
    ['ada', 'grace', 'edsger'].map((name) => createAccount(baseUrl, `${name}.${id}@example.com`)),
  );
  await waitUntil(() => processed(accounts), {
    what: async () => `a welcome and an audit row for each account (have ${JSON.stringify(await auditRows())})`,
  });
  await checkOnePerAccount(accounts);

  // A 400 with the reason, a 409 on a taken email (whatever its case): nothing stored, nothing published.
  const invalid = await post(baseUrl, { email: 'not-an-email' });
  t.is(invalid.status, 400);
  t.regex((invalid.body as { error: string }).error, /^email: /);
  const unknownField = await post(baseUrl, { email: `x.${id}@example.com`, name: 'x' });
  t.is(unknownField.status, 400);
  t.regex((unknownField.body as { error: string }).error, /name/);
  const taken = await post(baseUrl, { email: accounts[0]!.email.toUpperCase() });
  t.is(taken.status, 409);
  t.regex((taken.body as { error: string }).error, /already taken/);
  const stored = await query<{ n: number }>(names.accountsDatabaseUrl, 'SELECT count(*)::int AS n FROM accounts');
  t.is(stored[0]!.n, 3);
  const outboxRows = await query<{ exchange: string; routing_key: string; body: string }>(
    names.accountsDatabaseUrl,
    'SELECT exchange, routing_key, body FROM outbox ORDER BY created_at',
  );
  t.is(outboxRows.length, 3, 'one outbox row per created account, none for the refused requests');
  for (const row of outboxRows) t.like(row, { exchange: names.exchange, routing_key: 'account.created' });

  // A repeat of an event (the same body, a new message id), published by hand: each inbox recognises it.
  const repeated = outboxRows.find((row) => (JSON.parse(row.body) as Account).id === accounts[0]!.id)!;
  await publishToExchange(names.exchange, 'account.created', repeated.body);
  await waitUntil(
    async () =>
      (await deliveries(names.welcomeQueue, 'duplicate')) === 1 &&
      (await deliveries(names.auditQueue, 'duplicate')) === 1,
    { what: 'both subscribers to ack the repeat as a duplicate' },
  );
  await checkOnePerAccount(accounts);

  // Topic routing: account.closed matches the audit binding (account.#) but not the welcome one.
  const closed = JSON.stringify({ type: 'account.closed', id: accounts[1]!.id, closed_at: new Date().toISOString() });
  await publishToExchange(names.exchange, 'account.closed', closed);
  await waitUntil(
    async () => (await auditRows()).some((row) => row.event === 'account.closed' && row.account_id === accounts[1]!.id),
    { what: 'the audit row of account.closed' },
  );
  t.deepEqual(
    [...new Set((await auditRows()).map((row) => row.routing_key))].sort(),
    ['account.closed', 'account.created'],
    'the handler sees the routing key each event came with',
  );

  // A poison event reaches both queues; each subscriber dead-letters it to its own .dead queue with the reason.
  const poison = JSON.stringify({ type: 'account.created', id: 'not-a-uuid', email: 'nobody' });
  await publishToExchange(names.exchange, 'account.created', poison);
  for (const queue of [names.welcomeQueue, names.auditQueue]) {
    await waitUntil(async () => (await queueCounts(`${queue}.dead`)).messages === 1, {
      what: `the poison event in ${queue}.dead`,
    });
    const [deadLetter, ...more] = await peekQueue(`${queue}.dead`);
    t.is(more.length, 0);
    t.is(deadLetter!.content.toString(), poison);
    const headers = deadLetter!.properties.headers ?? {};
    t.regex(String(headers[deadLetterHeader.reason]), /^body fails validation: .*id: /);
    t.is(headers[deadLetterHeader.queue], queue);
  }

  // The next valid event is still processed by both.
  const next = await createAccount(baseUrl, `barbara.${id}@example.com`);
  const all = [...accounts, next];
  await waitUntil(() => processed(all), { what: 'the welcome and audit rows of the account after the poison' });
  await checkOnePerAccount(all);
  // Acked after the commit: the rows may be visible a moment before the delivery has ended.
  await waitUntil(async () => (await deliveries(names.auditQueue, 'acked')) === 5, { what: 'five audit acks' });
  await waitUntil(async () => (await deliveries(names.welcomeQueue, 'acked')) === 4, { what: 'four welcome acks' });
  t.is(await deliveries(names.welcomeQueue, 'acked'), 4, 'welcome never received account.closed');
  t.is(await deliveries(names.welcomeQueue, 'dead-lettered'), 1);
  t.is(await deliveries(names.auditQueue, 'dead-lettered'), 1);

  // Nothing unsent: every outbox row confirmed by the broker.
  await waitUntil(
    async () => (await query(names.accountsDatabaseUrl, 'SELECT 1 FROM outbox WHERE sent_at IS NULL')).length === 0,
    { what: 'every outbox row of the accounts database to be sent' },
  );
  t.deepEqual(await query(subscribers, 'SELECT id FROM outbox'), [], 'the subscribers publish nothing');

  // Nothing unacked: once the runtime has stopped, an unacked delivery would be back in its queue.
  await stop();
  for (const queue of [names.welcomeQueue, names.auditQueue]) {
    t.is((await queueCounts(queue)).messages, 0, `${queue} is empty`);
    t.is((await queueCounts(`${queue}.dead`)).messages, 1, `${queue}.dead holds only the poison event`);
  }
  await checkOnePerAccount(all);
  t.is((await auditRows()).length, 5, 'four account.created and one account.closed audit rows');
});
