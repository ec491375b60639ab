/**
 * A fresh environment per measured run, as test/support/environment.ts makes one per test: its own queue
 * names and databases on the local broker and PostgreSQL, removed again when the run ends.
 */
import amqplib from 'amqplib';
import pg from 'pg';
import { delayQueuesOf, servicePairNames } from '../../test/support/environment.js';
import { onInterrupt } from './interrupts.js';

export const amqpUrl = process.env.BENCH_AMQP_URL ?? process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const postgresServer =
  process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

export interface BenchEnvironment {
  readonly id: string;
  readonly userQueue: string;
  readonly cardQueue: string;
  readonly queues: readonly string[];
  readonly userDbUrl: string;
  readonly cardDbUrl: string;
  /** The environment variables a service process of this run gets (ackstate's names; the reference reads the same). */
  readonly env: Record<string, string>;
  createDatabases(): Promise<void>;
  cleanUp(): Promise<void>;
}

async function onServer<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${postgresServer}/postgres` });
  client.on('error', () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export function createBenchEnvironment(label: string): BenchEnvironment {
  const names = servicePairNames('b', label, 16, { amqpUrl, postgresServer });
  const { id, userQueue, cardQueue, userDbUrl, cardDbUrl, env } = names;
  const queues = [userQueue, cardQueue, `${userQueue}.dead`, `${cardQueue}.dead`];
  // ackstate's delay queues at its default DELAYED_RETRY_SECONDS (10,60,300): removed too, if they were made.
  const delayQueues = [userQueue, cardQueue].flatMap((queue) => delayQueuesOf(queue));
  const databases = [names.userDbName, names.cardDbName] as const;
  const forget = onInterrupt(() => environment.cleanUp());
  const environment: BenchEnvironment = {
    id,
    userQueue,
    cardQueue,
    queues,
    userDbUrl,
    cardDbUrl,
    env: { ...env },
    async createDatabases() {
      await onServer(async (client) => {
        for (const name of databases) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      });
    },
    async cleanUp() {
      forget();
      const errors: unknown[] = [];
      try {
        const connection = await amqplib.connect(amqpUrl);
        try {
          const channel = await connection.createChannel();
          for (const queue of [...queues, ...delayQueues]) await channel.deleteQueue(queue);
          await channel.close();
        } finally {
          await connection.close();
        }
      } catch (error) {
        errors.push(error);
      }
      try {
        await onServer(async (client) => {
          for (const name of databases)
            await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
        });
      } catch (error) {
        errors.push(error);
      }
      if (errors.length > 0) throw new Error(`clean-up of ${id} failed: ${errors.map(String).join('; ')}`);
    },
  };
  return environment;
}
