/** Runs the three services in one process: `npx tsx examples/account-events/main.ts`. */
import { startRuntime } from 'ackstate';
import { accountEventServices } from './system.js';

const postgres = 'postgres://postgres@127.0.0.1:5432';
const env = process.env;

const runtime = await startRuntime({
  broker: { urls: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
  http: { port: Number(env.HTTP_PORT ?? 3000) },
  services: accountEventServices({
    exchange: 'account_events',
    welcomeQueue: 'account_events.welcome',
    auditQueue: 'account_events.audit',
    accountsDatabaseUrl: env.ACCOUNTS_DATABASE_URL ?? `${postgres}/account_events_accounts`,
    subscribersDatabaseUrl: env.SUBSCRIBERS_DATABASE_URL ?? `${postgres}/account_events_subscribers`,
  }),
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void runtime.stop());
