// Running in production (issue 6): a three-node RabbitMQ cluster of its own on this machine, quorum queues,
// AMQP_URL listing every node. Users stream in through two instances of each service; the node they are all
// connected to (which also leads the queues they declared) is stopped. They must reconnect to another node
// and carry on, with nothing lost or doubled. The machine's own broker is left exactly as it was.
import test from 'ava';
import { query } from '../support/environment.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { mainNodeState, startRabbitCluster, type ClusterNode } from '../support/rabbitmq-cluster.js';
import { entered, startScenario } from '../support/scenario.js';
import { queueTypes, rabbitmqctl } from '../support/services-control.js';
import { waitUntil } from '../support/wait.js';

const connectionName = 'ackstate'; // the client-provided name connectBroker gives every connection

test('a three-node cluster with quorum queues: the node the services use stops, they fail over, nothing lost or doubled', async (t) => {
  const mainBefore = await mainNodeState();
  t.true(mainBefore.running, "the machine's own RabbitMQ node runs");

  const cluster = await startRabbitCluster(3);
  t.teardown(() => cluster.tearDown()); // also on failure; runs after the scenario's own teardown
  const [first, second, third] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];

  // The first URL is the first node's, so every process connects there first.
  const scenario = await startScenario(t, 's11cluster', {
    instances: 2,
    common: { AMQP_URL: cluster.amqpUrls, QUEUE_TYPE: 'quorum', PUBLISH_TIMEOUT_MS: '2000' },
  });
  const { environment, userInstances, cardInstances } = scenario;
  const processes = [...userInstances, ...cardInstances];

  const ours = [
    environment.userQueue,
    environment.cardQueue,
    `${environment.userQueue}.dead`,
    `${environment.cardQueue}.dead`,
  ];
  const types = await queueTypes(second.name);
  t.deepEqual(
    ours.map((queue) => types.get(queue)),
    ours.map(() => 'quorum'),
  );
  const members = JSON.parse(
    await rabbitmqctl('-n', second.name, 'list_queues', 'name', 'members', '--formatter', 'json', '-q'),
  ) as {
    name: string;
    members: string[];
  }[];
  for (const queue of ours) {
    t.deepEqual(
      members.find((entry) => entry.name === queue)?.members.sort(),
      [first.name, second.name, third.name].sort(),
      `${queue} is replicated on all three nodes`,
    );
  }
  t.deepEqual(
    (await cluster.connectionNodes(connectionName)).map((node) => node.name),
    processes.map(() => first.name),
    'every process is connected to the first node',
  );

  let turn = 0;
  const flow = startFlow(() => userInstances[turn++ % userInstances.length]!.url, 20, 's11');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 60);

  const reconnectsBefore = processes.map((process) => entered(process, 'connection', 'reconnecting').length);
  const stopping = Date.now();
  await cluster.stopNode(first);
  const stopMs = Date.now() - stopping;
  const createdBeforeStop = flow.created.length;

  await waitUntil(
    async () => {
      const nodes = await cluster.connectionNodes(connectionName);
      return nodes.length === processes.length && nodes.every((node) => node !== first);
    },
    { timeoutMs: 120_000, intervalMs: 500, what: 'every process to reconnect to a remaining node' },
  );
  const failoverMs = Date.now() - stopping;
  await flowReached(flow, createdBeforeStop + 80, 180_000);
  const created = await flow.stop();
  const createdAfterStop = created.slice(createdBeforeStop);

  const remaining = cluster.runningNode();
  const report = await checkInvariants({
    environment,
    createdUserIds: created,
    broker: { node: remaining.name, amqpUrl: remaining.amqpUrl },
  });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);

  const carded = new Set(
    (
      await query<{ user_id: string }>(environment.userDbUrl, 'SELECT user_id FROM cards WHERE user_id = ANY($1)', [
        createdAfterStop,
      ])
    ).map((row) => row.user_id),
  );
  t.is(carded.size, createdAfterStop.length, 'every user created after the stop got a card');

  processes.forEach((process, index) => {
    t.true(
      entered(process, 'connection', 'reconnecting').length > reconnectsBefore[index]!,
      `process ${index} logged its reconnect`,
    );
    t.true(entered(process, 'connection', 'connected').length >= 2, `process ${index} connected again`);
    t.is(process.child.exitCode, null, `process ${index} is still running`);
  });
  t.log(
    `node stopped in ${stopMs} ms; all ${processes.length} processes on other nodes ${failoverMs} ms after the stop began`,
  );
  t.log(
    `${created.length} users (${createdAfterStop.length} after the stop, ${flow.failures} given up), drained in ${report.drainMs} ms`,
  );

  // Leave the machine as it was: stop everything of ours now, then look at the machine's own node.
  await Promise.all(processes.map((process) => process.stop()));
  await cluster.tearDown();
  t.true(cluster.isGone(), 'every node started by the test has exited and its folder is gone');
  t.deepEqual(await mainNodeState(), mainBefore, "the machine's own node runs as before, alone in its cluster");
});
