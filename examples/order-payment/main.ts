/** Runs the orders service: `npx tsx examples/order-payment/main.ts`. */
import { startRuntime } from 'ackstate';
import { orderPaymentServices } from './system.js';

const env = process.env;

const runtime = await startRuntime({
  broker: { urls: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
  http: { port: Number(env.HTTP_PORT ?? 3000) },
  services: orderPaymentServices({
    service: 'orders',
    exchange: 'order_events',
    emailQueue: 'order_events.emails',
    outcomesQueue: 'order_events.outcomes',
    databaseUrl: env.ORDERS_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/order_payment_orders',
    reminderMs: Number(env.PAYMENT_REMINDER_MS ?? 60_000),
    timeoutMs: Number(env.PAYMENT_TIMEOUT_MS ?? 120_000),
  }),
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void runtime.stop());
