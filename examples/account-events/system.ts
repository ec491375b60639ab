/** The example's three services, with every broker and database name a parameter (tests pass their own). */
import { defineExchange, type Service } from 'ackstate';
import { accountsService } from './accounts-service.js';
import { auditService } from './audit-service.js';
import { welcomeService } from './welcome-service.js';

export interface AccountEventsNames {
  /** The topic exchange of account events. */
  readonly exchange: string;
  readonly welcomeQueue: string;
  readonly auditQueue: string;
  readonly accountsDatabaseUrl: string;
  /** One database for both subscribers, welcome and audit. */
  readonly subscribersDatabaseUrl: string;
}

export function accountEventServices(names: AccountEventsNames): Service[] {
  const events = defineExchange({ name: names.exchange, type: 'topic' });
  return [
    accountsService({ databaseUrl: names.accountsDatabaseUrl, events }),
    welcomeService({ databaseUrl: names.subscribersDatabaseUrl, queue: names.welcomeQueue, events }),
    auditService({ databaseUrl: names.subscribersDatabaseUrl, queue: names.auditQueue, events }),
  ];
}
