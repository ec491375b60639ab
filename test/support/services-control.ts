/**
 * Faults injected into the machine's own RabbitMQ and PostgreSQL: restarts, a stopped node, blocked
 * publishers, terminated sessions. Only the serial scenario run uses these; each waits until the service
 * answers again before it returns.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import { amqpUrl, query, postgresServer } from './environment.js';
import { waitUntil, sleep } from './wait.js';

const run = promisify(execFile);

/** Runs rabbitmqctl against the machine's own node, or with `-n <node>` against another one. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 120_000 });
  return stdout;
}

const isLongName = (node: string) => node.split('@')[1]?.includes('.') ?? false;

/**
 * Queue info items of every queue of the default vhost, in one answer of one node. Each queue's row is
 * read on the node that leads it, as `list_queues` does (a quorum queue's counts are metrics its leader
 * keeps, 0 elsewhere). `list_queues` itself has every node stream its rows straight to the CLI's own Erlang
 * node, which nodes in another network namespace cannot reach (it listens on loopback, under the machine's
 * host name); here the node asked gathers them.
 */
export async function queueInfo(node: string, items: readonly string[]): Promise<Record<string, unknown>[]> {
  const row =
    'maps:from_list([{K, case V of {resource, _, queue, QueueName} -> QueueName; _ -> V end} || {K, V} <- I])';
  const local = `fun() -> [${row} || Q <- rabbit_amqqueue:list_local(<<"/">>), I <- [rabbit_amqqueue:info(Q, [${items.join(', ')}])]] end`;
  const expression = `rabbit_json:encode(lists:append([rpc:call(Node, erlang, apply, [${local}, []], 30000) || Node <- rabbit_nodes:all_running()])).`;
  const output = await rabbitmqctl(...onNode(node), 'eval', expression, '--formatter', 'json', '-q');
  return JSON.parse((JSON.parse(output) as { value: string }).value) as Record<string, unknown>[];
}

/** `-n <node>`, with `--longnames` for a node named by a full host name or an address (`rabbit@10.213.1.11`). */
const onNode = (node: string | undefined) => {
  if (!node) return [];
  return isLongName(node) ? ['--longnames', '-n', node] : ['-n', node];
};

export async function brokerAnswers(): Promise<boolean> {
  try {
    const connection = await amqplib.connect(amqpUrl);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

export async function waitForBroker(): Promise<void> {
  await waitUntil(brokerAnswers, { timeoutMs: 120_000, intervalMs: 500, what: 'RabbitMQ to accept connections' });
}

/** Stops and starts the RabbitMQ application inside the running node. */
export async function restartBrokerApp(downMs = 2_000): Promise<void> {
  await rabbitmqctl('stop_app');
  await sleep(downMs);
  await rabbitmqctl('start_app');
  await waitForBroker();
}

/** Stops the whole RabbitMQ node and starts it again, as a machine reboot would. */
export async function restartBrokerNode(downMs = 2_000): Promise<void> {
  await rabbitmqctl('stop');
  await waitUntil(async () => !(await brokerAnswers()), { timeoutMs: 60_000, what: 'RabbitMQ to stop' });
  await sleep(downMs);
  await run('rabbitmq-server', ['-detached'], { timeout: 60_000 });
  // `-detached` returns before the node exists; waitForBroker polls until it accepts connections.
  await waitForBroker();
}

/** Blocks (0) or restores the broker's publishers through its memory alarm. */
export async function setMemoryHighWatermark(fraction: number): Promise<void> {
  await rabbitmqctl('set_vm_memory_high_watermark', String(fraction));
}

export interface QueueState {
  readonly name: string;
  readonly messages_ready: number;
  readonly messages_unacknowledged: number;
}

/** The queues of the machine's own node, or of `node` (a node of another cluster, by its name). */
export async function listQueues(node?: string): Promise<QueueState[]> {
  if (node && isLongName(node))
    return (await queueInfo(node, ['name', 'messages_ready', 'messages_unacknowledged'])) as unknown as QueueState[];
  const output = await rabbitmqctl(
    ...onNode(node),
    'list_queues',
    'name',
    'messages_ready',
    'messages_unacknowledged',
    '--formatter',
    'json',
    '-q',
  );
  return JSON.parse(output) as QueueState[];
}

/** Each queue's type (`classic`, `quorum`, `stream`) as the broker reports it. */
export async function queueTypes(node?: string): Promise<Map<string, string>> {
  const output = await rabbitmqctl(...onNode(node), 'list_queues', 'name', 'type', '--formatter', 'json', '-q');
  return new Map((JSON.parse(output) as { name: string; type: string }[]).map((queue) => [queue.name, queue.type]));
}

/** Ends every session on a database (pg_terminate_backend), as a database restart would. */
export async function terminateSessions(database: string): Promise<number> {
  const rows = await query<{ terminated: boolean }>(
    `${postgresServer}/postgres`,
    'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  return rows.filter((row) => row.terminated).length;
}

async function postgresAnswers(): Promise<boolean> {
  try {
    await query(`${postgresServer}/postgres`, 'SELECT 1');
    return true;
  } catch {
    return false;
  }
}

const cluster = () => readdirSync('/etc/postgresql')[0]!;

/** Stops the PostgreSQL cluster for a while and starts it again. */
export async function restartPostgres(downMs = 2_000): Promise<void> {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster(), 'main', 'stop', '-m', 'fast'], {
    timeout: 120_000,
  });
  await sleep(downMs);
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster(), 'main', 'start'], { timeout: 120_000 });
  await waitUntil(postgresAnswers, { timeoutMs: 120_000, intervalMs: 500, what: 'PostgreSQL to accept connections' });
}

export async function memoryHighWatermark(): Promise<string> {
  return (await rabbitmqctl('eval', 'vm_memory_monitor:get_vm_memory_high_watermark().')).trim();
}
