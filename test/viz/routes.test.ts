/**
 * The visualizer's routes on a bare HTTP server (no broker, no database): the page and its assets, the
 * definitions, the pictures, the live state with search, and the event stream, which must not keep the
 * server from closing.
 */
import test from 'ava';
import { assign, createActor, toPromise } from 'xstate';
import { createHttpServer } from '../../src/http/http-server.js';
import { createDecoder } from '../../src/observability/decoder.js';
import { LiveMonitor } from '../../src/viz/live/live-monitor.js';
import { registerVizRoutes } from '../../src/viz/live/routes.js';
import { deliveryMachine, persistStep, publishStep, type Delivery } from '../../src/machines/delivery.js';

async function serve() {
  const monitor = new LiveMonitor();
  const app = createHttpServer({ bodyLimit: 16_384, readiness: async () => ({ ready: true, checks: {} }) });
  registerVizRoutes(app, { monitor, intervalMs: 20 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, monitor, url: `http://127.0.0.1:${port}` };
}

const consumers = new Map([
  [
    'user_queue',
    {
      service: 'card',
      consumer: 'user_queue',
      queue: 'user_queue',
      describe: { received: () => '', completed: () => '' },
    },
  ],
]);

async function deliver(monitor: LiveMonitor, messageId: string) {
  const logic = deliveryMachine.provide({
    actions: {
      publish: publishStep(async () => {}),
      persist: persistStep(async () => ({
        duplicates: [false],
        outgoing: [],
        results: [undefined],
      })),
      decode: assign({ decoded: [{ key: `id:${messageId}`, message: { id: 'user-42' } }] }),
      ack: () => {},
      nack: () => {},
    },
  });
  const delivery: Delivery = {
    queue: 'user_queue',
    deliveryTag: 1,
    redelivered: false,
    messageId,
    contentType: undefined,
    headers: {},
    content: new Uint8Array(),
  };
  const actor = createActor(logic, {
    input: { deliveries: [delivery], maxAttempts: 3 },
    inspect: createDecoder({ consumers, listeners: [monitor] }),
  });
  actor.start();
  await toPromise(actor);
}

test('the page, its assets, the definitions and the pictures are served by the process', async (t) => {
  const { app, url } = await serve();
  t.teardown(() => app.close());

  const page = await fetch(`${url}/viz`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html/);
  t.regex(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await page.text();
  for (const id of ['delivery', 'consumer', 'supervisor', 'outboxRelay', 'retention', 'timerFiring', 'connection']) {
    t.true(html.includes(`<svg xmlns="http://www.w3.org/2000/svg" class="statechart" data-machine="${id}"`), id);
  }
  t.false(/(src|href)="(https?:)?\/\//.test(html), 'nothing linked from elsewhere');

  t.regex((await fetch(`${url}/viz/app.js`)).headers.get('content-type') ?? '', /javascript/);
  t.regex((await fetch(`${url}/viz/app.css`)).headers.get('content-type') ?? '', /css/);

  const { machines } = (await (await fetch(`${url}/viz/machines.json`)).json()) as {
    machines: {
      id: string;
      states: string[];
      definition: { id: string };
      chart: { transitions: unknown[] };
      svg: string;
    }[];
  };
  const delivery = machines.find((machine) => machine.id === 'delivery')!;
  t.is(delivery.definition.id, 'delivery');
  t.true(delivery.states.includes('deadLettering'));
  t.true(delivery.chart.transitions.length > 10);
  t.is(delivery.svg, '/viz/machines/delivery.svg');

  const svg = await fetch(`${url}${delivery.svg}`);
  t.regex(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  t.true((await svg.text()).includes('data-state="acking"'));
  t.is((await fetch(`${url}/viz/machines/delivery.json`)).status, 200);
  t.is((await fetch(`${url}/viz/machines/nothing.svg`)).status, 404);
});

test('the live state is searchable, and the event stream sends a snapshot, then updates, and ends on close', async (t) => {
  const { app, monitor, url } = await serve();
  t.teardown(() => app.close());
  await deliver(monitor, 'first-message');

  const state = (await (await fetch(`${url}/viz/state.json?q=USER-42`)).json()) as {
    deliveries: { messageId: string; outcome: string; path: { state: string }[] }[];
    stats: { machines: Record<string, { entered: Record<string, number> }> };
  };
  t.deepEqual(
    state.deliveries.map((record) => [record.messageId, record.outcome]),
    [['first-message', 'acked']],
  );
  t.is(state.stats.machines.delivery!.entered.acking, 1);
  t.deepEqual(
    ((await (await fetch(`${url}/viz/state.json?q=nobody`)).json()) as { deliveries: unknown[] }).deliveries,
    [],
  );

  const response = await fetch(`${url}/viz/events`);
  t.regex(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let received = '';
  const readUntil = async (pattern: RegExp) => {
    while (!pattern.test(received)) {
      const { value, done } = await reader.read();
      if (done) return false;
      received += decoder.decode(value, { stream: true });
    }
    return true;
  };
  t.true(await readUntil(/event: snapshot\ndata: .*first-message.*\n\n/));
  await deliver(monitor, 'second-message');
  t.true(await readUntil(/event: update\ndata: .*second-message.*\n\n/));
  const update = /event: update\ndata: (.*)\n\n/.exec(received)!;
  const payload = JSON.parse(update[1]!) as { complete: boolean; deliveries: { messageId: string }[] };
  t.false(payload.complete);
  t.deepEqual(
    payload.deliveries.map((record) => record.messageId),
    ['second-message'],
    'only what changed',
  );

  // Closing the server ends the stream instead of waiting for the client to leave.
  await app.close();
  t.false(await readUntil(/never/));
});
