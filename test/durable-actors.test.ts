// Durable actors on the real broker and database: a card-activation actor (test/support/durable-cards.ts)
// compiled to consumers, its timers fired by the runtime's loop. Each test has its own names; every wait is
// on a condition, with a generous bound.
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { ActorVersionError } from '../src/actors/durable/version-check.js';
import { deadLetterHeader } from '../src/index.js';
import { peekQueue, publishRaw, publishToExchange, queueCounts } from './support/broker.js';
import {
  cardActivation,
  cardNames,
  cardRuntimes,
  collectedLogs,
  historyRows,
  instanceRows,
  timerCount,
  type CardNames,
  type LogLine,
} from './support/durable-cards.js';
import { query } from './support/environment.js';
import { scrape, valueIn } from './support/metrics-text.js';
import { waitUntil } from './support/wait.js';

const long = { remindMs: 600_000, expireMs: 600_000 };

const issue = (names: CardNames, ids: readonly string[], messageId?: string) =>
  publishRaw(
    names.cardQueue,
    ids.map((id) => JSON.stringify({ id })),
    messageId === undefined ? {} : { messageId },
  );

const activate = (names: CardNames, id: string, routingKey = 'card.activated') =>
  publishToExchange(names.exchange.name, routingKey, JSON.stringify({ cardId: id }));

async function stateOf(names: CardNames, id: string, state: string) {
  await waitUntil(async () => (await instanceRows(names)).find((row) => row.instance_id === id)?.state === state, {
    what: `${id} in state ${state}`,
  });
}

const logged = (lines: readonly LogLine[], pattern: RegExp) =>
  waitUntil(() => lines.find((line) => pattern.test(String(line.message))), { what: `a log line ${pattern}` });

const unsent = async (names: CardNames) =>
  Number((await query<{ n: string }>(names.dbUrl, 'SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL'))[0]!.n);

test('a start and an event: the instance moves to active, with its history in order and its messages sent', async (t) => {
  const names = cardNames('start');
  const runtimes = cardRuntimes(t, names);
  const logs = collectedLogs();
  await runtimes.start(cardActivation(names, long), logs);
  const issueId = randomUUID();
  await issue(names, ['c-1'], issueId);
  await stateOf(names, 'c-1', 'waiting');
  t.is(await timerCount(names), 1, 'the reminder is set');
  await activate(names, 'c-1');
  await stateOf(names, 'c-1', 'active');

  const [row] = await instanceRows(names);
  t.like(row, { status: 'done', row_version: 2 });
  const history = await historyRows(names, 'c-1');
  t.deepEqual(
    history.map(({ event_type, from_state, to_state }) => [event_type, from_state, to_state]),
    [
      ['card.issued', null, 'waiting'],
      ['card.activated', 'waiting', 'active'],
    ],
  );
  t.is(history[0]!.message_id, issueId);
  t.regex(String(history[1]!.message_id), /^[0-9a-f-]{36}$/);
  t.is(await timerCount(names), 0, 'a finished instance keeps no timer');
  await waitUntil(async () => (await unsent(names)) === 0, { what: 'the outbox to be sent' });
  const emails = await peekQueue(names.emailQueue);
  t.deepEqual(
    emails.map((message) => JSON.parse(message.content.toString()) as unknown),
    [{ template: 'welcome' }],
  );
  t.deepEqual(history[1]!.published, [emails[0]!.properties.messageId]);
  await logged(logs.lines, /^Moved card-activation c-1 from waiting to active on card\.activated, closed, published 1/);
});

test('timers fire in order for an instance left alone, each once; /metrics counts the transitions, the lag and the instances', async (t) => {
  const names = cardNames('timers');
  const runtimes = cardRuntimes(t, names);
  const logs = collectedLogs();
  const runtime = await runtimes.start(cardActivation(names), logs);
  await issue(names, ['c-1']);
  await stateOf(names, 'c-1', 'expired');
  t.deepEqual(
    (await historyRows(names, 'c-1')).map(({ event_type, from_state, to_state }) => [event_type, from_state, to_state]),
    [
      ['card.issued', null, 'waiting'],
      ['xstate.after.300.card.waiting', 'waiting', 'reminded'],
      ['xstate.after.600.card.reminded', 'reminded', 'expired'],
    ],
  );
  t.like((await instanceRows(names))[0], { status: 'done' });
  t.is(await timerCount(names), 0);
  await waitUntil(async () => (await unsent(names)) === 0, { what: 'the outbox to be sent' });
  t.deepEqual(
    (await peekQueue(names.emailQueue)).map((message) => JSON.parse(message.content.toString()) as unknown),
    [{ template: 'remind', event: 'xstate.after.300.card.waiting' }],
  );
  // The firing's lag from its due time is in its completed line.
  await logged(
    logs.lines,
    /^Moved card-activation c-1 from reminded to expired .*\(timer .*, \d+ ms after its due time\)$/,
  );

  const samples = await scrape(`http://127.0.0.1:${runtime.port}/metrics`);
  const actor = { actor: names.actor };
  t.is(valueIn(samples, 'ackstate_durable_transitions_total', { ...actor, from: 'none', to: 'waiting' }), 1);
  t.is(valueIn(samples, 'ackstate_durable_transitions_total', { ...actor, from: 'reminded', to: 'expired' }), 1);
  t.is(valueIn(samples, 'ackstate_durable_events_total', { ...actor, outcome: 'started' }), 1);
  t.is(valueIn(samples, 'ackstate_durable_events_total', { ...actor, outcome: 'applied' }), 2);
  t.is(valueIn(samples, 'ackstate_durable_timer_lag_seconds_count', actor), 2, 'both firings observed');
  t.is(valueIn(samples, 'ackstate_durable_instances', { service: names.service, ...actor, state: 'expired' }), 1);
});

test('a firing for a timer whose instance left the state does nothing', async (t) => {
  const names = cardNames('stale');
  const runtimes = cardRuntimes(t, names);
  const logs = collectedLogs();
  await runtimes.start(cardActivation(names, long), logs);
  await issue(names, ['c-1']);
  await stateOf(names, 'c-1', 'waiting');
  const [timer] = await query<{ timer_id: string; token: string; event: unknown }>(
    names.dbUrl,
    'SELECT timer_id, token, event FROM actor_timers WHERE actor = $1',
    [names.actor],
  );
  await activate(names, 'c-1');
  await stateOf(names, 'c-1', 'active');
  // The firing as the loop would have sent it had it claimed the timer before the activation.
  const firing = {
    actor: names.actor,
    instanceId: 'c-1',
    timerId: timer!.timer_id,
    token: timer!.token,
    event: timer!.event,
    dueAt: new Date().toISOString(),
  };
  await publishRaw(names.timerQueue, [JSON.stringify(firing)], { messageId: randomUUID() });
  await logged(
    logs.lines,
    /^Skipped xstate\.after\.600000\.card\.waiting for card-activation c-1: the timer is no longer set/,
  );
  t.is((await historyRows(names, 'c-1')).length, 2);
  t.like((await instanceRows(names))[0], { state: 'active', row_version: 2 });
  t.is((await queueCounts(`${names.timerQueue}.dead`)).messages, 0);
});

test('a repeated start creates nothing and a repeated event changes nothing', async (t) => {
  const names = cardNames('dupes');
  const runtimes = cardRuntimes(t, names);
  const logs = collectedLogs();
  await runtimes.start(cardActivation(names, long), logs);
  await issue(names, ['c-1', 'c-1']);
  await logged(logs.lines, /^Dropped card\.issued for card-activation c-1 .*a duplicate/);
  t.deepEqual(
    (await instanceRows(names)).map((row) => [row.instance_id, row.state, row.row_version]),
    [['c-1', 'waiting', 1]],
  );
  await activate(names, 'c-1');
  await activate(names, 'c-1');
  await logged(logs.lines, /^Dropped card\.activated for card-activation c-1 .*a duplicate/);
  // The same event from another source is no duplicate to the inbox: the closed instance refuses it, ignored.
  await activate(names, 'c-1', 'card.activated.late');
  await logged(logs.lines, /^Ignored card\.activated for card-activation c-1: the instance is done/);
  t.deepEqual(
    (await instanceRows(names)).map((row) => [row.instance_id, row.state, row.row_version]),
    [['c-1', 'active', 2]],
  );
  t.is((await historyRows(names, 'c-1')).length, 2);
});

test('an event for a missing instance: ignored (nothing written) or dead-lettered with the reason', async (t) => {
  const names = cardNames('missing');
  const runtimes = cardRuntimes(t, names);
  const logs = collectedLogs();
  await runtimes.start(cardActivation(names, long), logs);
  await activate(names, 'nobody', 'card.activated.late');
  await logged(logs.lines, /^Ignored card\.activated for card-activation nobody: no instance nobody/);
  await activate(names, 'ghost');
  const [dead] = await waitUntil(
    async () => {
      const messages = await peekQueue(`${names.activatedQueue}.dead`);
      return messages.length > 0 && messages;
    },
    { what: 'the event for a missing instance in the dead letters' },
  );
  t.regex(String(dead!.properties.headers?.[deadLetterHeader.reason]), /no instance ghost of card-activation/);
  t.deepEqual(await instanceRows(names), []);
  t.deepEqual(await historyRows(names), []);
  t.is((await queueCounts(`${names.lateQueue}.dead`)).messages, 0);
});

/** How long after their due time 10,000 timers due at once must all have fired: the stated bound. */
const manyTimersBoundMs = 90_000;

test('10,000 instances with timers due at the same moment: each fires exactly once, all within the stated bound', async (t) => {
  t.timeout(5 * 60_000);
  const count = 10_000;
  const names = cardNames('many');
  const runtimes = cardRuntimes(t, names);
  await runtimes.start(cardActivation(names, long));
  const ids = Array.from({ length: count }, (_, index) => `c-${String(index).padStart(5, '0')}`);
  await issue(names, ids);
  await waitUntil(async () => (await timerCount(names)) === count, {
    what: `${count} reminders set`,
    timeoutMs: 180_000,
  });
  const dueAt = Date.now();
  await query(names.dbUrl, 'UPDATE actor_timers SET due_at = now() WHERE actor = $1', [names.actor]);
  const reminded = async () =>
    Number(
      (
        await query<{ n: string }>(
          names.dbUrl,
          "SELECT count(*) AS n FROM actor_instances WHERE actor = $1 AND state = 'reminded'",
          [names.actor],
        )
      )[0]!.n,
    );
  await waitUntil(async () => (await reminded()) === count, {
    what: `${count} instances reminded within ${manyTimersBoundMs} ms of their due time`,
    timeoutMs: manyTimersBoundMs,
  });
  const allFiredMs = Date.now() - dueAt;
  const firings = await query<{ instance_id: string; n: string }>(
    names.dbUrl,
    "SELECT instance_id, count(*) AS n FROM actor_history WHERE actor = $1 AND to_state = 'reminded' GROUP BY instance_id",
    [names.actor],
  );
  t.is(firings.length, count);
  t.true(
    firings.every((row) => row.n === '1'),
    'each fired once',
  );
  await waitUntil(async () => (await unsent(names)) === 0, { what: 'the outbox to be sent', timeoutMs: 120_000 });
  await waitUntil(async () => (await queueCounts(names.emailQueue)).messages === count, {
    what: `${count} reminder emails`,
    timeoutMs: 60_000,
  });
  t.is((await queueCounts(`${names.timerQueue}.dead`)).messages, 0);
  t.log(`${count} timers due at once all fired ${allFiredMs} ms after their due time (bound ${manyTimersBoundMs} ms)`);
});

test('timers pending when the process stops each fire once after a new one starts', async (t) => {
  const names = cardNames('restart');
  const runtimes = cardRuntimes(t, names);
  const definition = cardActivation(names, { remindMs: 5_000, expireMs: 300 });
  const first = await runtimes.start(definition);
  const ids = Array.from({ length: 20 }, (_, index) => `c-${index}`);
  await issue(names, ids);
  await waitUntil(async () => (await timerCount(names)) === 20, { what: '20 reminders set' });
  await runtimes.stop(first);
  const pending = await query<{ n: string }>(
    names.dbUrl,
    'SELECT count(*) AS n FROM actor_timers WHERE actor = $1 AND sent_at IS NULL',
    [names.actor],
  );
  t.is(pending[0]!.n, '20', 'every reminder was still pending when the process stopped');
  await runtimes.start(cardActivation(names, { remindMs: 5_000, expireMs: 300 }));
  await waitUntil(async () => (await instanceRows(names)).every((row) => row.state === 'expired'), {
    what: 'every instance expired',
  });
  const history = await historyRows(names);
  for (const id of ids) {
    t.deepEqual(
      history.filter((row) => row.instance_id === id).map((row) => row.to_state),
      ['waiting', 'reminded', 'expired'],
    );
  }
});

test('start-up is refused while instances are in states the deployed machine lacks, unless it migrates them', async (t) => {
  const names = cardNames('version');
  const runtimes = cardRuntimes(t, names);
  const first = await runtimes.start(cardActivation(names, long));
  await issue(names, ['c-1', 'c-2']);
  await waitUntil(async () => (await instanceRows(names)).length === 2, { what: 'two instances' });
  await runtimes.stop(first);

  const renamed = { ...long, waitingState: 'pending' };
  const error = await t.throwsAsync(runtimes.start(cardActivation(names, renamed, { version: 2 })), {
    instanceOf: ActorVersionError,
  });
  t.regex(error.message, /actor card-activation, deployed at version 2: 2 in state 'waiting' \(version 1\)/);

  const migrated = await runtimes.start(
    cardActivation(names, renamed, {
      version: 2,
      migrate: (snapshot) => ({ ...snapshot, value: snapshot.value === 'waiting' ? 'pending' : snapshot.value }),
    }),
  );
  await activate(names, 'c-1');
  await stateOf(names, 'c-1', 'active');
  await runtimes.stop(migrated);
});

test('retention removes a closed instance with its history after the deduplication window, and keeps a running one', async (t) => {
  const names = cardNames('retention');
  const runtimes = cardRuntimes(t, names);
  await runtimes.start(cardActivation(names, long), collectedLogs(), {
    consumers: { retry: { baseMs: 10, maxMs: 100 }, delayedRetriesMs: [] },
    retention: { deduplicationWindowMs: 1_000, intervalMs: 50 },
  });
  await issue(names, ['closed', 'running']);
  await stateOf(names, 'running', 'waiting');
  await activate(names, 'closed');
  await stateOf(names, 'closed', 'active');

  await waitUntil(async () => (await instanceRows(names)).length === 1 && (await historyRows(names)).length === 0, {
    what: 'the closed instance and all history older than the window removed',
    timeoutMs: 30_000,
  });
  t.like((await instanceRows(names))[0], { instance_id: 'running', state: 'waiting', status: 'active' });
  t.is(await timerCount(names), 1, 'the running instance keeps its timer');
});
