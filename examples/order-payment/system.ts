/** The example's service, with every broker and database name a parameter (tests pass their own). */
import { defineExchange, type Service } from 'ackstate';
import { ordersService } from './orders-service.js';

export interface OrderPaymentNames {
  /** The service: `<service>.order.timers` and the order process's other queues carry it. */
  readonly service: string;
  /** The topic exchange of order and payment events. */
  readonly exchange: string;
  readonly emailQueue: string;
  readonly outcomesQueue: string;
  readonly databaseUrl: string;
  readonly reminderMs: number;
  readonly timeoutMs: number;
}

export function orderPaymentServices(names: OrderPaymentNames): Service[] {
  const events = defineExchange({ name: names.exchange, type: 'topic' });
  return [ordersService({ ...names, name: names.service, events })];
}
