// Seed scenario 5: a service process is killed during processing (SIGKILL, no chance to drain) and
// started again. Its unacked deliveries come back from the broker and are processed; nothing is lost,
// nothing doubled.
import test from 'ava';
import type { ServiceProcess } from '../support/service-process.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { messageOutcomes, receivedMessageIds } from '../support/outcomes.js';
import { startScenario } from '../support/scenario.js';
import { waitUntil } from '../support/wait.js';
import { lockTable } from '../support/table-lock.js';

const finished = (process: ServiceProcess, queue: string) => messageOutcomes(process.logs, queue);

/** Message ids the process received and had not logged as finished (acked ones still publishing included). */
function unsettled(process: ServiceProcess, queue: string): Set<string> {
  const received = new Set(receivedMessageIds(process.logs, queue));
  for (const line of finished(process, queue)) received.delete(String(line.messageId));
  return received;
}

test('a service killed with deliveries in flight gets them back after a restart: nothing lost, nothing doubled', async (t) => {
  const scenario = await startScenario(t, 's5kill', {});
  const { environment } = scenario;

  // A backlog for the card service, so that the kill finds deliveries in flight.
  await scenario.cards.stop();
  const flow = startFlow(() => scenario.users.url, 50, 's5');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 150);

  const doomedCards = await scenario.restartCards();
  await waitUntil(() => finished(doomedCards, environment.userQueue).length >= 10, {
    what: 'the card service to be processing',
  });
  // Batches work a backlog off fast: a lock on the cards table holds the next batch in its transaction, so
  // that the kill certainly finds deliveries received and not yet settled. Waiting for a statement blocked on
  // the lock, not only for received messages without their last line: a batch is acked at its commit and
  // logs its messages' last lines only once their card messages are confirmed, after the ack.
  const lock = await lockTable(t, environment.cardDbUrl, 'cards');
  await waitUntil(async () => (await lock.waiting()) > 0 && unsettled(doomedCards, environment.userQueue).size > 0, {
    what: 'a batch held in its transaction by the lock',
  });
  await doomedCards.kill();
  await lock.release();
  const inFlightCards = unsettled(doomedCards, environment.userQueue);
  t.true(inFlightCards.size > 0, 'the card service died with deliveries in flight');
  const cards = await scenario.restartCards();

  // Now the user service, while cards stream in and users are still being created.
  const doomedUsers = scenario.users;
  await waitUntil(() => finished(doomedUsers, environment.cardQueue).length >= 10, {
    what: 'the user service to be storing cards',
  });
  await doomedUsers.kill();
  const users = await scenario.restartUsers();
  await flowReached(flow, flow.created.length + 20);
  const created = await flow.stop();

  const report = await checkInvariants({ environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);
  const redelivered = finished(cards, environment.userQueue).filter((line) =>
    inFlightCards.has(String(line.messageId)),
  );
  t.true(redelivered.length > 0, 'the deliveries in flight at the kill were processed by the restarted service');
  t.true(redelivered.every((line) => line.redelivered === true));
  t.true(finished(users, environment.cardQueue).length > 0);
});
