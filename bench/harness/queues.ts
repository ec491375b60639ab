/**
 * Messages left in a run's queues (ready + unacknowledged), from `rabbitmqctl list_queues`; when
 * rabbitmqctl is not available, amqplib's checkQueue (which counts ready messages only).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import pg from 'pg';
import { amqpUrl } from './environment.js';
import { sleep } from '../../test/support/wait.js';

const run = promisify(execFile);

export interface QueueCount {
  readonly queue: string;
  readonly messages: number;
}

async function viaRabbitmqctl(queues: readonly string[]): Promise<QueueCount[]> {
  const { stdout } = await run('rabbitmqctl', ['list_queues', 'name', 'messages', '--formatter', 'json', '-q'], {
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const listed = JSON.parse(stdout) as { name: string; messages: number }[];
  const byName = new Map(listed.map((entry) => [entry.name, entry.messages]));
  return queues.map((queue) => ({ queue, messages: byName.get(queue) ?? 0 }));
}

async function viaCheckQueue(queues: readonly string[]): Promise<QueueCount[]> {
  const connection = await amqplib.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    const counts: QueueCount[] = [];
    for (const queue of queues) counts.push({ queue, messages: (await channel.checkQueue(queue)).messageCount });
    await channel.close();
    return counts;
  } finally {
    await connection.close();
  }
}

export async function messagesLeft(
  queues: readonly string[],
): Promise<{ total: number; counts: QueueCount[]; source: string }> {
  let counts: QueueCount[];
  let source = 'rabbitmqctl';
  try {
    counts = await viaRabbitmqctl(queues);
  } catch {
    counts = await viaCheckQueue(queues);
    source = 'checkQueue (ready only)';
  }
  return { total: counts.reduce((sum, entry) => sum + entry.messages, 0), counts, source };
}

/** Polls until the run's queues hold nothing (or the deadline passes); returns the last count. */
export async function waitForEmptyQueues(queues: readonly string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await messagesLeft(queues);
    if (left.total === 0 || Date.now() > deadline) return left;
    await sleep(500);
  }
}

/** Outbox rows not yet marked sent in a database (both pipelines have the same outbox table). */
export async function unsentOutboxRows(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM outbox WHERE sent_at IS NULL');
    return Number(rows[0]?.count ?? 0);
  } finally {
    await client.end().catch(() => {});
  }
}
