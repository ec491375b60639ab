// PostgreSQL failover under a steady stream of users: the test's own primary and streaming standby
// (test/support/postgres-cluster.ts; the machine's server on 5432 is never touched), both services'
// databases on the primary, reached through one endpoint that follows it. The primary is killed
// (`pg_ctl stop -m immediate`), the standby promoted, the endpoint moved.
//
// With synchronous replication nothing answered 201 may be lost. With asynchronous replication the test
// holds the standby's WAL stream back while users are created, so that the loss is the same every run:
// exactly those users (and their cards, inbox and outbox rows) are missing from the new primary, and what
// is left is consistent. The figures go to docs/database-failover.md.
import test, { type ExecutionContext } from 'ava';
import {
  attemptsLeft,
  breakerSince,
  cardsOf,
  countRows,
  deadLetteringLines,
  holdDeliveriesOn,
  timeWhen,
  usersPresent,
  waitSettled,
} from '../support/failover-checks.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, startFlow, type Flow } from '../support/load.js';
import { startPostgresPair, type PostgresPair } from '../support/postgres-cluster.js';
import { startScenario, type Scenario } from '../support/scenario.js';

const userDb = 'failover_user';
const cardDb = 'failover_card';
const perSecond = 20;

interface Setup {
  readonly pair: PostgresPair;
  readonly scenario: Scenario;
}

async function setUp(t: ExecutionContext, synchronous: boolean): Promise<Setup> {
  const pair = await startPostgresPair({ synchronous });
  t.teardown(() => pair.tearDown());
  const scenario = await startScenario(t, synchronous ? 'pgsync' : 'pgasync', {
    common: { USER_DB_URL: pair.endpointUrl(userDb), CARD_DB_URL: pair.endpointUrl(cardDb) },
  });
  return { pair, scenario };
}

function flowOf(t: ExecutionContext, { scenario }: Setup, label: string): Flow {
  const flow = startFlow(() => scenario.users.url, perSecond, label);
  t.teardown(() => flow.abandon());
  return flow;
}

/** Users created at the steady rate until `count` were answered 201; the flow then stops. */
async function createUsers(t: ExecutionContext, setup: Setup, label: string, count: number): Promise<string[]> {
  const flow = flowOf(t, setup, label);
  await flowReached(flow, count);
  return flow.stop();
}

/** The environment as the invariant checker sees it: both databases on the new primary, directly. */
const onNewPrimary = ({ pair, scenario }: Setup) => ({
  ...scenario.environment,
  userDbUrl: pair.current().url(userDb),
  cardDbUrl: pair.current().url(cardDb),
});

/** Stops the services, then the pair, and checks that nothing of the pair is left. */
async function tearDownAndCheck(t: ExecutionContext, { pair, scenario }: Setup): Promise<void> {
  const processes = [...scenario.userInstances, ...scenario.cardInstances];
  await Promise.all(processes.map((process) => process.stop()));
  await pair.tearDown();
  t.true(pair.isGone(), 'no server, proxy or folder of the pair is left');
  t.true(
    processes.every((process) => process.child.exitCode !== null || process.child.signalCode !== null),
    'every service process ended',
  );
}

const seconds = (ms: number) => `${(ms / 1_000).toFixed(2)} s`;

test.serial(
  'synchronous replication: a failover mid-stream loses no user answered 201, doubles no card, and the consumers pause and resume',
  async (t) => {
    const setup = await setUp(t, true);
    const { pair, scenario } = setup;
    const flow = flowOf(t, setup, 'pgsync');
    await flowReached(flow, 60);
    // Deliveries of both consumers in flight when the primary dies, not by luck: they wait on these locks.
    await holdDeliveriesOn(t, pair.primary.url(userDb), 'cards');
    await holdDeliveriesOn(t, pair.primary.url(cardDb), 'cards');
    const logsAtKill = { users: scenario.users.logs.length, cards: scenario.cards.logs.length };
    const answeredBeforeKill = flow.created.length;
    let storedAtPromotion = 0;
    const times = await pair.failover(async () => {
      storedAtPromotion = await countRows(pair.standby.url(userDb), 'cards');
    });
    const firstCardAt = await timeWhen(
      async () => (await countRows(pair.standby.url(userDb), 'cards')) > storedAtPromotion,
      'a card stored on the new primary',
    );
    const answeredAtMove = flow.created.length;
    await flowReached(flow, answeredAtMove + 40);
    const created = await flow.stop();

    const checkedFrom = Date.now();
    const report = await checkInvariants({ environment: onNewPrimary(setup), createdUserIds: created });
    const drainedAt = checkedFrom + report.drainMs;
    t.deepEqual(report.violations, []);
    t.is(report.withExactlyOneCard, report.users);
    t.is(report.doubled, 0);
    t.is((await usersPresent(pair.current().url(userDb), created)).size, created.length, 'every 201 user is there');
    for (const [name, service] of [
      ['card', scenario.cards],
      ['user', scenario.users],
    ] as const) {
      const breaker = breakerSince(service, logsAtKill[name === 'card' ? 'cards' : 'users']);
      t.true(breaker.paused, `the ${name} consumer paused during the failover`);
      t.true(breaker.resumed, `the ${name} consumer resumed after it`);
      t.deepEqual(deadLetteringLines(service), [], `the ${name} service dead-lettered nothing`);
    }
    t.is(await attemptsLeft(pair.current().url(cardDb)), 0, 'no attempt left counted in the card database');
    t.is(await attemptsLeft(pair.current().url(userDb)), 0, 'no attempt left counted in the user database');

    t.log(
      `users answered 201: ${answeredBeforeKill} before the kill, ${created.length} in all; checked ${report.users}`,
    );
    t.log(`lost ${report.lost}, doubled ${report.doubled}, dead-lettered ${report.deadLettered}`);
    t.log(
      `kill → standby promoted ${seconds(times.promotedAt - times.killedAt)}, → endpoint moved ${seconds(times.movedAt - times.killedAt)}`,
    );
    t.log(
      `kill → first card stored ${seconds(firstCardAt - times.killedAt)}, → all drained ${seconds(drainedAt - times.killedAt)}`,
    );
    await tearDownAndCheck(t, setup);
  },
);

/** Rows of the runtime's and the services' tables, per database, on one server. */
async function tableCounts(url: (database: string) => string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [database, tables] of [
    [userDb, ['users', 'cards', 'outbox', 'inbox']],
    [cardDb, ['users', 'cards', 'outbox', 'inbox']],
  ] as const) {
    for (const table of tables) counts[`${database}.${table}`] = await countRows(url(database), table);
  }
  return counts;
}

test.serial(
  'asynchronous replication: a failover loses exactly the users committed while the standby lagged, and what is left is consistent',
  async (t) => {
    const setup = await setUp(t, false);
    const { pair } = setup;
    const before = await createUsers(t, setup, 'pgasync-before', 60);
    await waitSettled(pair.primary.url(userDb), pair.primary.url(cardDb), before);
    await pair.waitReplicated();

    // The standby falls behind: every user now created commits on the primary alone, and is answered 201.
    await pair.holdBackReplication();
    const heldBack = await createUsers(t, setup, 'pgasync-held', 40);
    // Their whole chain (user, card, stored card) commits on the old primary before it dies, so that the
    // loss is whole users and nothing in flight leaves a half that chance would decide.
    await waitSettled(pair.primary.url(userDb), pair.primary.url(cardDb), heldBack);
    const onOldPrimary = await tableCounts(pair.primary.url);
    const times = await pair.failover();
    const onPromoted = await tableCounts(pair.standby.url);
    const after = await createUsers(t, setup, 'pgasync-after', 40);

    const everyone = [...before, ...heldBack, ...after];
    const present = await usersPresent(pair.current().url(userDb), everyone);
    const missing = everyone.filter((id) => !present.has(id));
    t.deepEqual(missing.sort(), [...heldBack].sort(), 'exactly the users created while replication was held back');
    t.is(await cardsOf(pair.current().url(cardDb), heldBack), 0, 'their cards are gone from the card service');
    t.is(await cardsOf(pair.current().url(userDb), heldBack), 0, 'and from the user service');
    const lost = Object.fromEntries(
      Object.entries(onOldPrimary).map(([table, count]) => [table, count - (onPromoted[table] ?? 0)]),
    );
    for (const table of ['users', 'cards', 'outbox', 'inbox'])
      for (const database of [userDb, cardDb])
        t.is(lost[`${database}.${table}`], heldBack.length, `${heldBack.length} rows lost from ${database}.${table}`);

    const report = await checkInvariants({ environment: onNewPrimary(setup), createdUserIds: [...before, ...after] });
    t.deepEqual(report.violations, [], 'everything left is consistent');
    t.is(report.withExactlyOneCard, before.length + after.length);

    t.log(
      `users answered 201: ${everyone.length} (${before.length} replicated, ${heldBack.length} while held back, ${after.length} after)`,
    );
    t.log(`lost: ${missing.length} users answered 201; rows lost per table: ${JSON.stringify(lost)}`);
    t.log(`doubled ${report.doubled}; kill → endpoint moved ${seconds(times.movedAt - times.killedAt)}`);
    await tearDownAndCheck(t, setup);
  },
);
