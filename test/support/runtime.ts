/**
 * An in-process runtime for a test, through the public entry: started with quiet, quick settings, and
 * everything the test created (queues with their `.dead` and delay queues, exchanges, databases) deleted
 * when the test ends, whether it passed or not. Deleting what is absent is harmless.
 */
import { createLogger, startRuntime, type Runtime, type RuntimeOptions } from 'ackstate';
import amqplib from 'amqplib';
import type { ExecutionContext } from 'ava';
import { amqpUrl, delayQueuesOf, postgresServer, query } from './environment.js';

/** What a test created. The lists may still grow after `startTestRuntime`: the clean-up reads them when it runs. */
export interface Created {
  readonly queues: string[];
  readonly exchanges?: string[];
  readonly databases: string[];
}

export async function deleteCreated({ queues, exchanges = [], databases }: Created): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) {
      for (const each of [queue, `${queue}.dead`, ...delayQueuesOf(queue)]) await channel.deleteQueue(each);
    }
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
  for (const url of databases) {
    const name = new URL(url).pathname.slice(1);
    await query(`${postgresServer}/postgres`, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

export interface StartedRuntime {
  readonly runtime: Runtime;
  readonly baseUrl: string;
  /** Stops the runtime once; the clean-up calls it too. */
  stop(): Promise<void>;
}

/** Registers the clean-up of `created` (after the runtime has stopped), then starts the runtime. */
export async function startTestRuntime(
  t: ExecutionContext,
  created: Created,
  options: RuntimeOptions,
): Promise<StartedRuntime> {
  let stop = async () => {};
  t.teardown(async () => {
    try {
      await stop();
    } finally {
      await deleteCreated(created);
    }
  });
  const runtime = await startRuntime({
    http: { port: 0 },
    outbox: { leaseMs: 2_000, pollMs: 200 },
    logger: createLogger('error'),
    ...options,
  });
  let stopped: Promise<void> | undefined;
  stop = () => (stopped ??= runtime.stop());
  return { runtime, baseUrl: `http://127.0.0.1:${runtime.port}`, stop: () => stop() };
}
