/** The wire contract of the example: the bodies of its HTTP requests and of the events on its exchange. */
import { z } from 'zod';

/** The body of POST /orders. Unknown fields are refused, so that a typo is not silently ignored. */
export const placeOrderRequestSchema = z.strictObject({
  email: z.email().max(254),
  amountCents: z.int().positive().max(100_000_000),
});

/** The body of POST /orders/:id/payments. */
export const payRequestSchema = z.strictObject({ amountCents: z.int().positive().max(100_000_000) });

/** Published with routing key `order.placed` when an order is placed: it starts the order's process. */
export const orderPlacedSchema = z.object({
  orderId: z.uuid(),
  email: z.email(),
  amountCents: z.int().positive(),
});
export type OrderPlaced = z.infer<typeof orderPlacedSchema>;

/** Published with routing key `payment.received` by the payments side (here: POST /orders/:id/payments). */
export const paymentReceivedSchema = z.object({
  paymentId: z.uuid(),
  orderId: z.uuid(),
  amountCents: z.int().positive(),
});
export type PaymentReceived = z.infer<typeof paymentReceivedSchema>;
