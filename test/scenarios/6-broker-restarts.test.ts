// Seed scenario 6: RabbitMQ restarts mid-stream, first its application (stop_app / start_app), then the
// whole node. Persistent messages on durable queues survive; both services reconnect on their own,
// declare their topology again and carry on.
import test from 'ava';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { entered, startScenario } from '../support/scenario.js';
import { restartBrokerApp, restartBrokerNode } from '../support/services-control.js';
import { waitUntil } from '../support/wait.js';

test('both services ride out a restart of the RabbitMQ application and of the whole node', async (t) => {
  const scenario = await startScenario(t, 's6broker', {});
  const { environment, users, cards } = scenario;
  const flow = startFlow(() => users.url, 20, 's6');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 20);

  await restartBrokerApp(3_000);
  await flowReached(flow, flow.created.length + 20);
  for (const service of [users, cards]) {
    await waitUntil(() => entered(service, 'connection', 'connected').length >= 2, {
      what: 'both services to reconnect after stop_app',
    });
  }

  await restartBrokerNode(2_000);
  await flowReached(flow, flow.created.length + 20);
  const created = await flow.stop();

  const report = await checkInvariants({ environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);
  for (const service of [users, cards]) {
    t.true(entered(service, 'connection', 'reconnecting').length >= 2, 'the connection was lost twice');
    t.true(entered(service, 'connection', 'connected').length >= 3, 'and came back each time');
  }
  t.is(users.child.exitCode, null, 'the user service never exited');
  t.is(cards.child.exitCode, null, 'the card service never exited');
});
