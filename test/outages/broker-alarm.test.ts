// The broker's resource alarms, on a RabbitMQ node of the test's own (test/support/rabbitmq-cluster.ts, one
// node; the machine's own broker is never touched): `rabbitmqctl -n <node> set_vm_memory_high_watermark 0`,
// or a disk free limit far above the free disk, blocks every connection that publishes for the 30 s of the
// outage; then the setting is restored. The database stays healthy throughout.
//
// What differs from the database outages (test/support/outage-harness.ts): producers are blocked too, so the
// 40 messages of the outage are published before it, to a holding queue whose per-message TTLs (4 to 22 s)
// dead-letter them into the service's queue one by one while the alarm is on, as the broker's own delay
// queues do. The service meets them with its connection blocked: it commits each card (the database takes
// it) but cannot publish the card message, nor get its acks through. Nothing fails in a delivery, so the
// consumer must NOT pause (a pause would be a wrong diagnosis: the database is healthy and the outbox holds
// the messages); what is asserted is that every message is kept, every card message published after the
// alarm ends, within the bound, without a loop (CPU and log lines bounded, at most two copies of each card
// message), and that the service really saw its connection blocked. Needs root (the node runs as the rabbitmq user).
import test, { type ExecutionContext } from 'ava';
import amqplib from 'amqplib';
import { postgresServer } from '../support/environment.js';
import { knownOutageBoundMs, measureOutage, outageMs, type OutageKind } from '../support/outage-harness.js';
import { startRabbitCluster, type ClusterNode } from '../support/rabbitmq-cluster.js';
import { rabbitmqctl } from '../support/services-control.js';
import { waitUntil } from '../support/wait.js';

let node: ClusterNode | undefined;

async function ownNode(t: ExecutionContext) {
  const cluster = await startRabbitCluster(1);
  t.teardown(() => cluster.tearDown());
  node = cluster.nodes[0]!;
  return { postgres: postgresServer, amqpUrl: node.amqpUrl, own: false };
}

const alarms = async () => (await rabbitmqctl('-n', node!.name, 'eval', 'rabbit_alarm:get_alarms().')).trim();

/** Sets an alarm with `set`, waits until the node has it; the returned function restores it and waits it gone. */
async function alarm(set: string[], restore: string[], resource: 'memory' | 'disk'): Promise<() => Promise<void>> {
  await rabbitmqctl('-n', node!.name, ...set);
  await waitUntil(async () => (await alarms()).includes(resource), { what: `the ${resource} alarm on the node` });
  return async () => {
    await rabbitmqctl('-n', node!.name, ...restore);
    await waitUntil(async () => !(await alarms()).includes(resource), { what: `the ${resource} alarm to clear` });
  };
}

/** The messages of the outage, held and then dead-lettered into the service's queue during it. */
async function queueAhead(outage: { userQueue: string }, bodies: string[]): Promise<void> {
  const connection = await amqplib.connect(node!.amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const held = `${outage.userQueue}.held`;
    await channel.assertQueue(held, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': outage.userQueue },
    });
    const spreadMs = (outageMs - 12_000) / bodies.length;
    bodies.forEach((body, index) => {
      channel.sendToQueue(held, Buffer.from(body), {
        persistent: true,
        expiration: String(Math.round(4_000 + index * spreadMs)),
      });
    });
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

/**
 * The service saw its connection blocked, and did not publish in a loop meanwhile: each card message reached
 * the queue at most twice (the publish right after its commit, whose frame waits in the blocked connection,
 * and one by the relay after the alarm). A relay that publishes again and again into the blocked connection
 * sends every copy once the alarm ends, more the longer the alarm lasts.
 */
const checkBlocked: OutageKind['check'] = (t, { logs, copies }) => {
  t.true(
    logs.some((line) => line.machine === 'connection' && line.to === 'blocked'),
    'the service saw its broker connection blocked',
  );
  const most = Math.max(0, ...copies.values());
  t.true(most <= 2, `each card message published at most twice, not in a loop (at most ${most} copies of one)`);
};

/**
 * The relay's lease at its default, 15 s: the test environment's 2 s is shorter than the publish timeout (5 s),
 * which alone would let a sweep claim a row again while its publish still waits for a confirm.
 */
const env = { OUTBOX_LEASE_MS: '15000' };

const kinds: OutageKind[] = [
  {
    name: "the broker's memory alarm (set_vm_memory_high_watermark 0 on a node of the test's own), then restored",
    boundMs: knownOutageBoundMs,
    pauses: false,
    env,
    target: ownNode,
    queueAhead,
    async begin() {
      const [, fraction] = /([0-9.]+)/.exec(
        await rabbitmqctl('-n', node!.name, 'eval', 'vm_memory_monitor:get_vm_memory_high_watermark().'),
      ) ?? [undefined, '0.4'];
      return alarm(['set_vm_memory_high_watermark', '0'], ['set_vm_memory_high_watermark', fraction!], 'memory');
    },
    check: checkBlocked,
  },
  {
    name: "the broker's disk alarm (disk_free_limit 100 TB on a node of the test's own), then 50 MB again",
    boundMs: knownOutageBoundMs,
    pauses: false,
    env,
    target: ownNode,
    queueAhead,
    begin: () => alarm(['set_disk_free_limit', '100000GB'], ['set_disk_free_limit', '50MB'], 'disk'),
    check: checkBlocked,
  },
];

for (const [index, kind] of kinds.entries()) {
  test.serial(
    `outage ${index + 9}, ${kind.name}: the consumer does not pause, every message is processed once and every card message published within ${kind.boundMs / 1_000} s of the end`,
    (t) => measureOutage(t, kind, `outage${index + 9}`),
  );
}
