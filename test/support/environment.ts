/**
 * An isolated environment per test: its own queue names and databases on the local broker and
 * PostgreSQL, removed again when the test ends.
 */
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import pg from 'pg';
import { dropDatabase } from '../../src/db/database.js';

export const amqpUrl = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const postgresServer = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/**
 * The delay queues a runtime declares for a consumer of `queue` (one per delay level; the default levels
 * unless a test sets its own), for clean-up: deleting one that was never declared is harmless.
 */
export const delayQueuesOf = (queue: string, seconds: readonly number[] = [10, 60, 300]) =>
  seconds.map((each) => `${queue}.retry.${each}s`);

/** The names one run of the user and card services uses: its queues, databases and their variables. */
export interface ServicePairNames {
  readonly id: string;
  readonly userQueue: string;
  readonly cardQueue: string;
  readonly userDbName: string;
  readonly cardDbName: string;
  readonly userDbUrl: string;
  readonly cardDbUrl: string;
  /** What a service process needs to find them (the reference pipelines read the same names). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Fresh names for one run, on `servers`: `label` (cut to `labelLength` letters and digits) and a random
 * suffix, behind `prefix` (`t` for tests, `b` for the benchmark), so that a leftover says who made it.
 */
export function servicePairNames(
  prefix: string,
  label: string,
  labelLength: number,
  servers = { amqpUrl, postgresServer },
): ServicePairNames {
  const id = `${label
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, labelLength)
    .toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const userQueue = `${prefix}_${id}_user_queue`;
  const cardQueue = `${prefix}_${id}_card_queue`;
  const userDbName = `ackstate_${prefix}_${id}_user`;
  const cardDbName = `ackstate_${prefix}_${id}_card`;
  const userDbUrl = `${servers.postgresServer}/${userDbName}`;
  const cardDbUrl = `${servers.postgresServer}/${cardDbName}`;
  return {
    id,
    userQueue,
    cardQueue,
    userDbName,
    cardDbName,
    userDbUrl,
    cardDbUrl,
    env: {
      AMQP_URL: servers.amqpUrl,
      USER_DB_URL: userDbUrl,
      CARD_DB_URL: cardDbUrl,
      USER_QUEUE: userQueue,
      CARD_QUEUE: cardQueue,
    },
  };
}

export interface TestEnvironment {
  readonly id: string;
  readonly userQueue: string;
  readonly cardQueue: string;
  readonly userDbUrl: string;
  readonly cardDbUrl: string;
  /** The environment variables a service process of this test runs with. */
  readonly env: Record<string, string>;
  cleanUp(): Promise<void>;
}

export function createTestEnvironment(label: string, extra: Record<string, string> = {}): TestEnvironment {
  const { id, userQueue, cardQueue, userDbUrl, cardDbUrl, env } = servicePairNames('t', label, 20);
  return {
    id,
    userQueue,
    cardQueue,
    userDbUrl,
    cardDbUrl,
    env: {
      ...env,
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '1000',
      OUTBOX_LEASE_MS: '2000',
      OUTBOX_POLL_MS: '200',
      LOG_LEVEL: 'info',
      ...extra,
    },
    async cleanUp() {
      const connection = await amqplib.connect(amqpUrl);
      try {
        const channel = await connection.createChannel();
        const delayQueues = [userQueue, cardQueue].flatMap((queue) => delayQueuesOf(queue, delayLevelsOf(extra)));
        for (const queue of [userQueue, cardQueue, `${userQueue}.dead`, `${cardQueue}.dead`, ...delayQueues]) {
          await channel.deleteQueue(queue);
        }
        await channel.close();
      } finally {
        await connection.close();
      }
      await dropDatabase(userDbUrl);
      await dropDatabase(cardDbUrl);
    },
  };
}

function delayLevelsOf(env: Record<string, string>): number[] | undefined {
  const setting = env.DELAYED_RETRY_SECONDS;
  if (setting === undefined) return undefined;
  return setting === 'none' ? [] : setting.split(',').map(Number);
}

/** Runs one query on a database and returns its rows. */
export async function query<Row = Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}
