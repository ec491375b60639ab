// Seed scenario 3: the card is created but its publish fails. Its message was committed in the outbox
// with the card, so it is delivered once the broker takes publishes again; the user service stores each
// card once, whatever the broker did with the attempts whose outcome was unknown.
import test from 'ava';
import { query } from '../support/environment.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow } from '../support/load.js';
import { entered, startScenario } from '../support/scenario.js';
import type { ServiceProcess } from '../support/service-process.js';
import { memoryHighWatermark, setMemoryHighWatermark } from '../support/services-control.js';
import { startTcpProxy, throughProxy } from '../support/tcp-proxy.js';
import { waitUntil } from '../support/wait.js';
import { lockTable } from '../support/table-lock.js';

const unsentCards = async (cardDbUrl: string) =>
  Number((await query<{ n: string }>(cardDbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'))[0]!.n);

test('cards committed while the broker blocks publishes stay in the outbox and are delivered once it lets them through', async (t) => {
  const scenario = await startScenario(t, 's3block', { card: { PUBLISH_TIMEOUT_MS: '1000' } });
  const { environment } = scenario;
  // The users queue up while the card service is down, so that it meets them all with publishes blocked.
  await scenario.cards.stop();
  const flow = startFlow(() => scenario.users.url, 50, 's3');
  t.teardown(() => flow.abandon());
  await flowReached(flow, 40);
  const created = await flow.stop();
  await waitUntil(
    async () => (await query(environment.userDbUrl, 'SELECT 1 FROM outbox WHERE sent_at IS NULL')).length === 0,
    {
      what: 'the user messages to be confirmed by the broker',
    },
  );

  const watermark = await memoryHighWatermark();
  t.teardown(() => setMemoryHighWatermark(Number(watermark)));
  await setMemoryHighWatermark(0);
  // Not waited for ready: its publisher is blocked as soon as it publishes the first card, and a blocked
  // publisher keeps /readyz at 503, however quickly that happens (with deep batches, before a first poll).
  const cards = await scenario.restartCards(undefined, { waitReady: false });
  await waitUntil(async () => (await query(environment.cardDbUrl, 'SELECT 1 FROM cards')).length === created.length, {
    what: `all ${created.length} cards to be committed while publishes are blocked`,
  });
  await waitUntil(() => entered(cards, 'connection', 'blocked').length > 0, {
    what: 'the card service to see its connection blocked',
  });
  t.true((await unsentCards(environment.cardDbUrl)) > 0, 'card messages are held in the outbox');
  t.is((await query(environment.userDbUrl, 'SELECT 1 FROM cards')).length, 0, 'no card reached the user service yet');
  await waitUntil(() => cards.logs.some((line) => /publish deferred to the outbox relay/.test(String(line.error))), {
    what: 'a publish to time out and be left to the outbox relay',
  });

  await setMemoryHighWatermark(Number(watermark));
  const report = await checkInvariants({ environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, created.length);
  t.true(entered(cards, 'connection', 'connected').length >= 2, 'the connection left the blocked state');
});

test('cards whose publish is cut off with the broker link are delivered from the outbox after reconnection', async (t) => {
  const proxy = await startTcpProxy(5672);
  t.teardown(() => proxy.close());
  const scenario = await startScenario(t, 's3cut', {});
  const { environment } = scenario;
  const cards = await scenario.restartCards({
    AMQP_URL: throughProxy(environment.env.AMQP_URL!, proxy),
    PUBLISH_TIMEOUT_MS: '1000',
  });

  // A lock on the cards table holds the card service's deliveries in `persisting`, so that some are certainly
  // between receiving and publishing when the link goes: they commit with the link down.
  const lock = await lockTable(t, environment.cardDbUrl, 'cards');

  const flow = startFlow(() => scenario.users.url, 40, 's3cut');
  t.teardown(() => flow.abandon());
  // Every batch place (BATCH_CONCURRENCY, 2 by default) ends up held: the deliveries behind them wait their turn.
  await waitUntil(() => heldInPersisting(cards) >= 2, { what: 'card deliveries to be held in persisting by the lock' });
  proxy.cut();
  await waitUntil(() => entered(cards, 'connection', 'reconnecting').length > 0, {
    what: 'the card service to lose its broker',
  });
  await lock.release();
  await waitUntil(() => cards.logs.some((line) => /publish deferred to the outbox relay/.test(String(line.error))), {
    what: 'the publish of a card committed with the link down to be left to the outbox relay',
  });
  t.true((await unsentCards(environment.cardDbUrl)) > 0, 'cards committed while the link is down wait in the outbox');
  proxy.restore();
  await flowReached(flow, flow.created.length + 20);
  const created = await flow.stop();

  const report = await checkInvariants({ environment, createdUserIds: created });
  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);
  t.true(entered(cards, 'connection', 'connected').length >= 2, 'the card service reconnected on its own');
});

/** Deliveries (a batch counts each of its own) that entered `persisting` and have not left it yet, from the log. */
function heldInPersisting(process: ServiceProcess): number {
  let held = 0;
  for (const line of process.logs) {
    if (line.machine !== 'delivery') continue;
    const deliveries = typeof line.batch === 'number' ? line.batch : 1;
    if (line.to === 'persisting') held += deliveries;
    if (line.from === 'persisting') held -= deliveries;
  }
  return held;
}
