/**
 * The durable actors' routes of the visualizer: counts by state and an instance's path read from a real
 * database (rows written with the actors' own queries), the path parameters refused with a reason, a
 * database that does not answer reported as an error, and a running runtime serving its actor.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import { appendHistory, insertInstances, type ActorInstanceWrite } from '../../src/db/actor-queries.js';
import { createDatabase } from '../../src/db/database.js';
import type { QueryRunner } from '../../src/db/prepared.js';
import { createHttpServer } from '../../src/http/http-server.js';
import { LiveMonitor } from '../../src/viz/live/live-monitor.js';
import type { ActorCounts, InstancePath } from '../../src/viz/live/payload.js';
import { registerVizRoutes } from '../../src/viz/live/routes.js';
import type { ActorView } from '../../src/viz/live/actor-views.js';
import { actorDatabase } from '../support/actor-database.js';
import { publishRaw, publishToExchange } from '../support/broker.js';
import { cardActivation, cardMachine, cardNames, cardRuntimes, instanceRows } from '../support/durable-cards.js';
import { waitUntil } from '../support/wait.js';

const actor = 'card-activation';
const machine = cardMachine(cardNames('viz'), { remindMs: 600_000, expireMs: 600_000 });

async function serve(t: import('ava').ExecutionContext, actors: readonly ActorView[]) {
  const app = createHttpServer({ bodyLimit: 16_384, readiness: async () => ({ ready: true, checks: {} }) });
  registerVizRoutes(app, { monitor: new LiveMonitor(), actors });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const { port } = app.server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

const getJson = async <T>(url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
};

const row = (instanceId: string, state: string, status: 'active' | 'done' = 'active'): ActorInstanceWrite => ({
  instanceId,
  state,
  snapshot: { value: state },
  definitionVersion: 1,
  status,
});

test('actors.json counts instances by state, and an instance route gives its row and its path in order', async (t) => {
  const { db } = await actorDatabase(t, 'viz');
  await insertInstances(db, actor, [row('c-1', 'waiting'), row('c-2', 'waiting'), row('c-3', 'active', 'done')]);
  await db.transaction().execute(async (trx) => {
    await appendHistory(trx, actor, [
      {
        instanceId: 'c-3',
        eventType: 'card.issued',
        fromState: null,
        toState: 'waiting',
        messageId: 'm-1',
        published: [],
      },
      {
        instanceId: 'c-3',
        eventType: 'card.activated',
        fromState: 'waiting',
        toState: 'active',
        messageId: 'm-2',
        published: ['o-1'],
      },
    ]);
  });
  const url = await serve(t, [{ name: actor, service: 'cards', machine, db }]);

  const { body } = await getJson<{ actors: (ActorCounts & { svg: string })[] }>(`${url}/viz/actors.json`);
  t.is(body.actors.length, 1);
  t.like(body.actors[0], {
    name: actor,
    service: 'cards',
    machine: 'card',
    instances: 3,
    svg: `/viz/actors/${actor}.svg`,
  });
  t.deepEqual(body.actors[0]!.now, { waiting: 2, active: 1 });
  t.is(body.actors[0]!.error, undefined);

  const path = await getJson<InstancePath>(`${url}/viz/actors/${actor}/instances/c-3.json`);
  t.is(path.status, 200);
  t.like(path.body.instance, { instanceId: 'c-3', state: 'active', status: 'done', rowVersion: 1 });
  t.deepEqual(
    path.body.path.map((step) => [step.event, step.from, step.to, step.messageId]),
    [
      ['card.issued', null, 'waiting', 'm-1'],
      ['card.activated', 'waiting', 'active', 'm-2'],
    ],
  );
  t.true(path.body.path[0]!.at <= path.body.path[1]!.at);
  t.false(path.body.truncated);

  const svg = await fetch(`${url}/viz/actors/${actor}.svg`);
  t.regex(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  t.true((await svg.text()).includes('data-state="reminded"'));
  const page = await (await fetch(`${url}/viz`)).text();
  t.true(page.includes(`data-actor-panel="${actor}"`));
  t.true(page.includes('data-count-state="waiting"'));
});

test('bad path parameters are refused with a reason', async (t) => {
  const { db } = await actorDatabase(t, 'vizbad');
  const url = await serve(t, [{ name: actor, service: 'cards', machine, db }]);
  const cases: [string, number, RegExp][] = [
    [`/viz/actors/nobody/instances/c-1.json`, 404, /no actor nobody/],
    [`/viz/actors/${actor}/instances/c-404.json`, 404, /has no instance c-404/],
    [`/viz/actors/${actor}/instances/a%01b.json`, 400, /control character/],
    [`/viz/actors/${actor}/instances/${'x'.repeat(600)}.json`, 414, /Bad Request/],
    [`/viz/actors/${actor}/instances/c-1.txt`, 404, /<id>\.json/],
    [`/viz/actors/nobody.svg`, 404, /no actor picture/],
  ];
  for (const [path, status, reason] of cases) {
    const answer = await getJson<{ error: string }>(`${url}${path}`);
    t.is(answer.status, status, path);
    t.regex(answer.body.error, reason, path);
  }
});

test('a database that is down or does not answer is an error in the answer, not a failed page', async (t) => {
  const down = createDatabase<unknown>({ url: 'postgres://postgres@127.0.0.1:1/nothing', maxConnections: 1 });
  t.teardown(() => down.destroy());
  const silent: QueryRunner = { executeQuery: () => new Promise(() => {}) };
  const url = await serve(t, [
    { name: 'down', service: 'cards', machine, db: down },
    { name: 'silent', service: 'cards', machine, db: silent },
  ]);
  const started = Date.now();
  const { status, body } = await getJson<{ actors: ActorCounts[] }>(`${url}/viz/actors.json`);
  t.is(status, 200);
  t.true(Date.now() - started < 10_000, 'the timeout bounds the answer');
  t.regex(body.actors.find((each) => each.name === 'down')!.error ?? '', /ECONNREFUSED|connect/);
  t.regex(body.actors.find((each) => each.name === 'silent')!.error ?? '', /took longer than 2000 ms/);
  const path = await getJson<{ error: string }>(`${url}/viz/actors/silent/instances/c-1.json`);
  t.is(path.status, 503);
  t.regex(path.body.error, /took longer than/);
  t.is((await fetch(`${url}/viz`)).status, 200);
});

test('a runtime with an actor serves its counts and an instance path from the events it applied', async (t) => {
  const names = cardNames('vizrt');
  const runtimes = cardRuntimes(t, names);
  const runtime = await runtimes.start(cardActivation(names, { remindMs: 600_000, expireMs: 600_000 }));
  const url = `http://127.0.0.1:${runtime.port}`;
  await publishRaw(
    names.cardQueue,
    ['c-1', 'c-2', 'c-3'].map((id) => JSON.stringify({ id })),
    {
      messageId: randomUUID(),
    },
  );
  await waitUntil(async () => (await instanceRows(names)).length === 3, { what: 'three instances' });
  await publishToExchange(names.exchange.name, 'card.activated', JSON.stringify({ cardId: 'c-2' }));

  const counts = await waitUntil(
    async () => {
      const { body } = await getJson<{ actors: ActorCounts[] }>(`${url}/viz/actors.json`);
      const [card] = body.actors;
      return card?.now['active'] === 1 ? card : undefined;
    },
    { what: 'c-2 counted in active' },
  );
  t.deepEqual(counts.now, { waiting: 2, active: 1 });
  t.is(counts.service, names.service);
  const { body } = await getJson<InstancePath>(`${url}/viz/actors/${names.actor}/instances/c-2.json`);
  t.deepEqual(
    body.path.map((step) => [step.event, step.from, step.to]),
    [
      ['card.issued', null, 'waiting'],
      ['card.activated', 'waiting', 'active'],
    ],
  );
  t.is(body.path[1]!.published.length, 1, 'the welcome email');
});
