/**
 * The orders service: POST /orders places an order (its `order.placed` event goes through the outbox), and
 * POST /orders/:id/payments stands in for a payment provider (it publishes `payment.received`). The order's
 * process is the durable actor of `order-process.ts`, run by the same service on the same database.
 */
import { randomUUID } from 'node:crypto';
import { defineService, describeIssues, HttpError, type Service } from 'ackstate';
import { z } from 'zod';
import { orderProcess, type OrderProcessOptions } from './order-process.js';
import { payRequestSchema, placeOrderRequestSchema, type OrderPlaced, type PaymentReceived } from './messages.js';

export interface OrdersServiceOptions extends OrderProcessOptions {
  /** The service's name: it names the queues the runtime makes for the order process too. */
  readonly name: string;
  readonly databaseUrl: string;
}

const orderIdSchema = z.uuid();

export function ordersService(options: OrdersServiceOptions): Service {
  const placed = { exchange: options.events, routingKey: 'order.placed' };
  const paid = { exchange: options.events, routingKey: 'payment.received' };
  return defineService({
    name: options.name,
    database: { url: options.databaseUrl },
    actors: [orderProcess(options)],
    publishes: [placed, paid],
    routes(app, { transaction }) {
      app.post('/orders', async (request, reply) => {
        const body = placeOrderRequestSchema.safeParse(request.body);
        if (!body.success) throw new HttpError(400, describeIssues(body.error));
        const order: OrderPlaced = { orderId: randomUUID(), ...body.data };
        await transaction(async (_trx, out) => void out.publish(placed, order));
        return reply.code(202).send(order);
      });
      app.post<{ Params: { id: string } }>('/orders/:id/payments', async (request, reply) => {
        const orderId = orderIdSchema.safeParse(request.params.id);
        if (!orderId.success) throw new HttpError(400, `order id: ${describeIssues(orderId.error)}`);
        const body = payRequestSchema.safeParse(request.body);
        if (!body.success) throw new HttpError(400, describeIssues(body.error));
        const payment: PaymentReceived = { paymentId: randomUUID(), orderId: orderId.data, ...body.data };
        await transaction(async (_trx, out) => void out.publish(paid, payment));
        return reply.code(202).send(payment);
      });
    },
  });
}
