// PostgreSQL failover with asynchronous replication: what it loses. The test holds the standby's WAL
// stream back (its replication link cut) while users are created and answered 201, lets their whole
// chain commit on the primary, then kills the primary, promotes the standby and moves the endpoint. The
// loss is then the same every run: exactly those users, with their cards, inbox and outbox rows, are
// missing from the new primary, and what is left is consistent. Figures: docs/database-failover.md.
import test from 'ava';
import { cardsOf, countRows, usersPresent, waitSettled } from '../support/failover-checks.js';
import {
  cardDb,
  createUsers,
  onCurrentPrimary,
  seconds,
  setUpFailover,
  tearDownAndCheck,
  userDb,
} from '../support/failover-scenario.js';
import { checkInvariants } from '../support/invariants.js';

const tables = ['users', 'cards', 'outbox', 'inbox'] as const;

/** Rows of the services' and the runtime's tables, per database, on one server. */
async function tableCounts(url: (database: string) => string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const database of [userDb, cardDb])
    for (const table of tables) counts[`${database}.${table}`] = await countRows(url(database), table);
  return counts;
}

test.serial(
  'asynchronous replication: a failover loses exactly the users committed while the standby lagged, and what is left is consistent',
  async (t) => {
    const setup = await setUpFailover(t, 'pgasync', false);
    const { pair } = setup;
    const before = await createUsers(t, setup, 'pgasync-before', 60);
    await waitSettled(pair.primary.url(userDb), pair.primary.url(cardDb), before);
    await pair.waitReplicated();

    // The standby falls behind: every user now created commits on the primary alone, and is answered 201.
    await pair.holdBackReplication();
    const heldBack = await createUsers(t, setup, 'pgasync-held', 40);
    // Their whole chain (user, card, stored card) commits on the old primary before it dies, so that the
    // loss is whole users, and no message in flight leaves a half of one that chance would decide.
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
    for (const [table, count] of Object.entries(lost))
      t.is(count, heldBack.length, `${heldBack.length} rows lost from ${table}`);

    const report = await checkInvariants({
      environment: onCurrentPrimary(setup),
      createdUserIds: [...before, ...after],
    });
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
