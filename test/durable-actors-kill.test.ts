// A process running a durable actor is killed (SIGKILL) with a thousand timers pending; a new one starts:
// every timer fires once, none before its due time. On the real broker and database.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { publishRaw } from './support/broker.js';
import { cardNames, cardRuntimes, collectedLogs, cardActivation, type CardTiming } from './support/durable-cards.js';
import { query } from './support/environment.js';
import { repoRoot } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

const instances = 1_000;
const timing: CardTiming = { remindMs: 8_000, expireMs: 600_000 };

function startChild(env: Record<string, string>): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ['--import=tsx', path.join(repoRoot, 'test/support/durable-cards-process.ts')],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code, signal) => reject(new Error(`the actor process exited (${code ?? signal}): ${output}`)));
  });
  return { child, ready };
}

test('a process killed with a thousand timers pending: after a restart each fires once, none early', async (t) => {
  t.timeout(5 * 60_000);
  const names = cardNames('kill');
  const runtimes = cardRuntimes(t, names); // cleans the names up at the end, after the runtime below
  const env = {
    DURABLE_CARDS_NAMES: JSON.stringify({ ...names, exchange: { name: names.exchange.name } }),
    DURABLE_CARDS_TIMING: JSON.stringify(timing),
  };
  const { child, ready } = startChild(env);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await ready;

  await publishRaw(
    names.cardQueue,
    Array.from({ length: instances }, (_, index) => JSON.stringify({ id: `c-${index}` })),
  );
  const count = async (sqlText: string) => Number((await query<{ n: string }>(names.dbUrl, sqlText))[0]!.n);
  await waitUntil(async () => (await count('SELECT count(*) AS n FROM actor_instances')) === instances, {
    what: `${instances} instances started, each with its reminder set`,
    timeoutMs: 120_000,
  });
  const pendingAtTheKill = await count(
    "SELECT count(*) AS n FROM actor_timers WHERE sent_at IS NULL AND timer_id LIKE '%waiting'",
  );
  child.kill('SIGKILL');
  await new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

  await runtimes.start(cardActivation(names, timing), collectedLogs());
  await waitUntil(
    async () =>
      Number(
        (
          await query<{ n: string }>(names.dbUrl, "SELECT count(*) AS n FROM actor_instances WHERE state = 'reminded'")
        )[0]!.n,
      ) === instances,
    { what: `${instances} instances reminded after the restart`, timeoutMs: 180_000 },
  );

  const firings = await query<{ instance_id: string; n: string; early_ms: string | null }>(
    names.dbUrl,
    `SELECT r.instance_id, count(*) AS n,
            min(extract(epoch FROM (i.at + interval '${timing.remindMs} milliseconds') - r.at) * 1000)::text AS early_ms
       FROM actor_history r JOIN actor_history i ON i.instance_id = r.instance_id AND i.event_type = 'card.issued'
      WHERE r.to_state = 'reminded' GROUP BY r.instance_id`,
  );
  t.is(firings.length, instances, 'every instance reminded');
  t.deepEqual([...new Set(firings.map((row) => Number(row.n)))], [1], 'each timer fired once');
  const early = firings.filter((row) => Number(row.early_ms) > 0);
  t.deepEqual(early, [], 'no timer fired before its due time (the issue plus the delay, both by the database clock)');
  t.true(pendingAtTheKill > 0, 'timers were pending when the process was killed');
  t.log(`${pendingAtTheKill} of ${instances} reminders not yet fired when the process was killed`);
});
