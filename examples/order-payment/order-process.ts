/**
 * The life of one order, as a durable actor: placed, it waits for its payment; a reminder goes out if the
 * payment is late, and the order is cancelled if it never comes. Each order is one instance (its id), kept
 * in the orders database with its timers and history.
 *
 *   new ─ order.placed ─> awaitingPayment ─ reminderMs ─> reminded ─ timeoutMs ─> cancelled (final)
 *   awaitingPayment, reminded ─ payment.received (enough) ─> paid (final)
 */
import { defineActor, publish } from 'ackstate/actors';
import type { Exchange } from 'ackstate';
import { assign, setup } from 'xstate';
import { orderPlacedSchema, paymentReceivedSchema } from './messages.js';

type OrderEvent =
  | { type: 'order.placed'; orderId: string; email: string; amountCents: number }
  | { type: 'payment.received'; paymentId: string; amountCents: number };

interface OrderContext {
  orderId: string;
  email: string;
  amountCents: number;
  paymentId: string | null;
}

export interface OrderProcessOptions {
  readonly events: Exchange;
  /** Where the emails to send are queued (a mailer consumes it). */
  readonly emailQueue: string;
  /** Where the orders' outcomes go (`order.paid`, `order.cancelled`), for shipping and accounting. */
  readonly outcomesQueue: string;
  /** How long after the order a reminder goes out, and how long after the reminder it is cancelled. */
  readonly reminderMs: number;
  readonly timeoutMs: number;
}

function orderMachine({ emailQueue, outcomesQueue, reminderMs, timeoutMs }: OrderProcessOptions) {
  const email = { queue: emailQueue };
  const outcomes = { queue: outcomesQueue };
  return setup({
    types: { context: {} as OrderContext, events: {} as OrderEvent },
    delays: { reminder: reminderMs, timeout: timeoutMs },
    guards: {
      paidInFull: ({ context, event }) => event.type === 'payment.received' && event.amountCents >= context.amountCents,
    },
  }).createMachine({
    id: 'order',
    context: { orderId: '', email: '', amountCents: 0, paymentId: null },
    initial: 'new',
    states: {
      new: {
        on: {
          'order.placed': {
            target: 'awaitingPayment',
            actions: assign(({ event }) =>
              event.type === 'order.placed'
                ? { orderId: event.orderId, email: event.email, amountCents: event.amountCents, paymentId: null }
                : {},
            ),
          },
        },
      },
      awaitingPayment: {
        after: { reminder: 'reminded' },
        on: { 'payment.received': { guard: 'paidInFull', target: 'paid' } },
      },
      reminded: {
        entry: publish(email, ({ context }) => ({
          template: 'payment-reminder',
          to: context.email,
          orderId: context.orderId,
        })),
        after: { timeout: 'cancelled' },
        on: { 'payment.received': { guard: 'paidInFull', target: 'paid' } },
      },
      paid: {
        type: 'final',
        entry: [
          assign({ paymentId: ({ event }) => (event.type === 'payment.received' ? event.paymentId : null) }),
          publish(outcomes, ({ context }) => ({ type: 'order.paid', orderId: context.orderId })),
          publish(email, ({ context }) => ({ template: 'order-paid', to: context.email, orderId: context.orderId })),
        ],
      },
      cancelled: {
        type: 'final',
        entry: publish(outcomes, ({ context }) => ({
          type: 'order.cancelled',
          orderId: context.orderId,
          reason: 'no payment in time',
        })),
      },
    },
  });
}

/**
 * The order process: started by `order.placed`, moved on by `payment.received`. A payment for an order
 * this service does not know is dead-lettered with the reason; one that does not cover the order is taken
 * by no transition, and so is dead-lettered too, for someone to look at.
 */
export function orderProcess(options: OrderProcessOptions) {
  const { events, emailQueue, outcomesQueue } = options;
  return defineActor(orderMachine(options)).with({
    name: 'order',
    version: 1,
    events: [
      {
        exchange: events,
        routingKey: 'order.placed',
        schema: orderPlacedSchema,
        id: (order) => order.orderId,
        starts: true,
        event: (order) => ({ type: 'order.placed', ...order }),
      },
      {
        exchange: events,
        routingKey: 'payment.received',
        schema: paymentReceivedSchema,
        id: (payment) => payment.orderId,
        // Each payment is an event of its own: two payments of one order are not duplicates of each other.
        key: (payment) => `payment:${payment.paymentId}`,
        event: (payment) => ({
          type: 'payment.received',
          paymentId: payment.paymentId,
          amountCents: payment.amountCents,
        }),
        whenMissing: 'dead-letter',
      },
    ],
    publishes: [{ queue: emailQueue }, { queue: outcomesQueue }],
  });
}
