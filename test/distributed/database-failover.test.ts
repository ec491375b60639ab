// PostgreSQL failover with synchronous replication, under a steady stream of users: the test's own
// primary and streaming standby (test/support/postgres-cluster.ts; the machine's server on 5432 is never
// touched), both services' databases on the primary, reached through one endpoint that follows it. The
// primary is killed (`pg_ctl stop -m immediate`), the standby promoted, the endpoint moved. No user
// answered 201 may be lost, no card doubled, and both consumers must pause and resume, counting nothing.
// The second test kills the primary while its standby is cut off: commits wait for it, none is answered,
// and the failover still loses nothing answered. Figures: docs/database-failover.md.
import test, { type ExecutionContext } from 'ava';
import {
  attemptsLeft,
  breakerSince,
  breakerTimeline,
  countRows,
  deadLetteringLines,
  holdDeliveriesOn,
  sessionsWaitingFor,
  timeWhen,
  usersPresent,
} from '../support/failover-checks.js';
import {
  cardDb,
  onCurrentPrimary,
  seconds,
  setUpFailover,
  steadyFlow,
  tearDownAndCheck,
  userDb,
  type FailoverSetup,
} from '../support/failover-scenario.js';
import { checkInvariants } from '../support/invariants.js';
import { flowReached, type Flow } from '../support/load.js';
import type { Scenario } from '../support/scenario.js';
import type { ServiceProcess } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

interface FailoverCase {
  /** Done just before the kill. */
  readonly beforeKill?: () => Promise<void>;
  /**
   * The old primary's connections hang instead of being reset (see `PostgresPair.failover`). The
   * deliveries on them fail only at the pool's query timeout, one by one, as ordinary failures, so the
   * breaker need not open: they are retried on connections to the new primary.
   */
  readonly silently?: boolean;
}

/** Deliveries that failed because their query got no answer (a connection left hung by the failover). */
const timedOut = (service: ServiceProcess) =>
  service.logs.filter(
    (line) => line.machine === 'delivery' && line.to === 'rollingBack' && /Query read timeout/.test(String(line.error)),
  ).length;

/** Every consumer paused and resumed (or, in a silent failover, resumed if it paused); nothing dead-lettered. */
function checkBreakers(t: ExecutionContext, scenario: Scenario, logsAtKill: number[], silently: boolean): void {
  for (const [index, service] of [scenario.cards, scenario.users].entries()) {
    const name = index === 0 ? 'card' : 'user';
    const breaker = breakerSince(service, logsAtKill[index]!);
    const states = breaker.states.slice(-8).join(' → ');
    if (!silently) t.true(breaker.paused, `the ${name} consumer paused during the failover`);
    if (breaker.paused) t.true(breaker.resumed, `the ${name} consumer resumed after it (last states: ${states})`);
    t.deepEqual(deadLetteringLines(service), [], `the ${name} service dead-lettered nothing`);
  }
}

/** Whether every consumer that paused since the kill has consumed again. */
const breakersSettled = (scenario: Scenario, logsAtKill: number[]) =>
  [scenario.cards, scenario.users].every((service, index) => {
    const breaker = breakerSince(service, logsAtKill[index]!);
    return !breaker.paused || breaker.resumed;
  });

/** Lets a flow go on until it made `count` users and every paused consumer has had its trial delivery. */
async function keepCreatingUntilSettled(flow: Flow, scenario: Scenario, logsAtKill: number[], count: number) {
  const lastStates = () =>
    [scenario.cards, scenario.users]
      .map((service, index) => breakerSince(service, logsAtKill[index]!).states.slice(-8).join(' → '))
      .join('; ');
  await waitUntil(() => flow.created.length >= count && breakersSettled(scenario, logsAtKill), {
    timeoutMs: 120_000,
    what: () => `${count} users (${flow.created.length}) and every paused consumer resumed (${lastStates()})`,
  });
}

/** Fails the primary over mid-stream and checks that nothing was lost. */
async function failOverMidStream(
  t: ExecutionContext,
  setup: FailoverSetup,
  { beforeKill = async () => {}, silently = false }: FailoverCase = {},
): Promise<void> {
  const { pair, scenario } = setup;
  const flow = steadyFlow(t, setup, 'pgsync');
  await flowReached(flow, 60);
  // Deliveries of both consumers in flight when the primary dies, not by luck: they wait on these locks.
  await holdDeliveriesOn(t, pair.primary.url(userDb), 'cards');
  await holdDeliveriesOn(t, pair.primary.url(cardDb), 'cards');
  await beforeKill();
  const logsAtKill = [scenario.cards.logs.length, scenario.users.logs.length];
  const answeredBeforeKill = flow.created.length;
  let storedAtPromotion = 0;
  const times = await pair.failover({
    silently,
    beforeMove: async () => {
      storedAtPromotion = await countRows(pair.standby.url(userDb), 'cards');
    },
  });
  const firstCardAt = await timeWhen(
    async () => (await countRows(pair.standby.url(userDb), 'cards')) > storedAtPromotion,
    'a card stored on the new primary',
  );
  await keepCreatingUntilSettled(flow, scenario, logsAtKill, flow.created.length + 40);
  const created = await flow.stop();

  const checkedFrom = Date.now();
  let report = await checkInvariants({ environment: onCurrentPrimary(setup), createdUserIds: created });
  const drainedAt = checkedFrom + report.drainMs;
  if (!breakersSettled(scenario, logsAtKill)) {
    // A consumer paused late, during the drain: its half-open breaker closes only on a trial delivery.
    const more = steadyFlow(t, setup, 'pgsync-more');
    await keepCreatingUntilSettled(more, scenario, logsAtKill, 1);
    created.push(...(await more.stop()));
    report = await checkInvariants({ environment: onCurrentPrimary(setup), createdUserIds: created });
  }
  t.log(
    `users answered 201: ${answeredBeforeKill} before the kill, ${created.length} in all; checked ${report.users} ` +
      `(the others committed while their client gave up on them, and were answered 409 on its retry)`,
  );
  t.log(`lost ${report.lost}, doubled ${report.doubled}, dead-lettered ${report.deadLettered}`);
  t.log(
    `kill → standby promoted ${seconds(times.promotedAt - times.killedAt)}, → endpoint moved ${seconds(times.movedAt - times.killedAt)}, ` +
      `→ first card stored ${seconds(firstCardAt - times.killedAt)}, → all drained ${seconds(drainedAt - times.killedAt)}`,
  );
  t.log(
    `deliveries that met a hung connection (query timeout): ${timedOut(scenario.cards) + timedOut(scenario.users)}`,
  );
  t.log(`card consumer's breaker after the kill: ${breakerTimeline(scenario.cards, logsAtKill[0]!, times.killedAt)}`);
  t.log(`user consumer's breaker after the kill: ${breakerTimeline(scenario.users, logsAtKill[1]!, times.killedAt)}`);

  t.deepEqual(report.violations, []);
  t.is(report.withExactlyOneCard, report.users);
  t.is(report.doubled, 0);
  t.is((await usersPresent(pair.current().url(userDb), created)).size, created.length, 'every 201 user is there');
  checkBreakers(t, scenario, logsAtKill, silently);
  t.is(await attemptsLeft(pair.current().url(cardDb)), 0, 'no attempt left counted in the card database');
  t.is(await attemptsLeft(pair.current().url(userDb)), 0, 'no attempt left counted in the user database');
  await tearDownAndCheck(t, setup);
}

test.serial(
  'synchronous replication: a failover mid-stream loses no user answered 201, doubles no card, and the consumers pause and resume',
  async (t) => {
    await failOverMidStream(t, await setUpFailover(t, 'pgsync', true));
  },
);

test.serial(
  'synchronous replication, the standby cut off before the kill: the commits waiting for it die unanswered with the primary, and nothing answered 201 is lost',
  async (t) => {
    const setup = await setUpFailover(t, 'pgsynccut', true);
    const { pair } = setup;
    await failOverMidStream(t, setup, {
      beforeKill: async () => {
        await pair.holdBackReplication();
        const waiting = await waitUntil(
          async () => {
            const count = await sessionsWaitingFor(pair.primary.url('postgres'), 'SyncRep');
            return count > 0 && count;
          },
          { what: 'a commit waiting for the standby' },
        );
        t.log(`commits waiting for the cut-off standby at the kill: at least ${waiting}`);
      },
    });
  },
);

test.serial(
  'synchronous replication, the old primary gone silently (its connections hang, never reset): the services give up on them and carry on through the new one',
  async (t) => {
    await failOverMidStream(t, await setUpFailover(t, 'pgsyncsilent', true), { silently: true });
  },
);
