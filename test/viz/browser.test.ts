/**
 * The visualizer in a real headless Chromium (Debian's `chromium`, driven by playwright-core), against the
 * real service on the local RabbitMQ and PostgreSQL: the page loads with no console error and nothing
 * fetched from elsewhere, the delivery chart shows every state, a user created through the API shows up
 * with its whole path to `acking → done`, a poison message with its dead-letter reason, and the counts
 * change without a reload. A screenshot is saved in test-artifacts/.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { chromium } from 'playwright-core';
import { createUser } from '../support/api.js';
import { publishRaw } from '../support/broker.js';
import { createTestEnvironment } from '../support/environment.js';
import { repoRoot, startService } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const patience = 60_000;
/** The card service publishes the card it issued; the user service, storing it, has nothing to publish. */
const happyPaths = {
  publishes: ['receiving', 'persisting', 'acking', 'publishing', 'done'],
  publishesNothing: ['receiving', 'persisting', 'acking', 'done'],
};

/** `now 0 · total 7` → 7; an empty count (never entered) → 0. */
const totalOf = (text: string | null | undefined) => Number(/total (\d+)/.exec(text ?? '')?.[1] ?? 0);

test('GET /viz shows the machines live: states, message paths, dead-letter reasons, counts', async (t) => {
  t.timeout(5 * patience);
  t.true(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium`);

  const environment = createTestEnvironment('viz');
  t.teardown(() => environment.cleanUp());
  const service = await startService(environment.env);
  t.teardown(() => service.stop());

  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(patience);
  const problems: string[] = [];
  const elsewhere: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith(`${service.url}/`) && !request.url().startsWith('data:'))
      elsewhere.push(request.url());
  });

  const response = await page.goto(`${service.url}/viz`);
  t.is(response?.status(), 200);
  await page.locator('#stream-status[data-connected="true"]').waitFor();
  await page.evaluate('window.__sameDocument = true');

  // The delivery chart, drawn from the definition, shows each of its states.
  const { machines } = (await (await fetch(`${service.url}/viz/machines.json`)).json()) as {
    machines: { id: string; states: string[] }[];
  };
  t.deepEqual(machines.map((machine) => machine.id).sort(), [
    'connection',
    'consumer',
    'delivery',
    'outboxRelay',
    'retention',
    'supervisor',
    'timerFiring',
  ]);
  const deliveryStates = machines.find((machine) => machine.id === 'delivery')!.states;
  t.true(deliveryStates.length >= 10);
  for (const state of deliveryStates) {
    const box = page.locator(`#machine-delivery svg [data-state="${state}"]`);
    t.true(await box.isVisible(), `state ${state} is drawn`);
    t.is(await box.locator('.state-name').first().textContent(), state.split('.').at(-1)!);
  }
  await page.locator('#actors li[data-actor="supervisor"][data-state="running"]').waitFor();
  await page.locator('#actors li[data-actor="connection"][data-state="connected"]').waitFor();

  const doneCount = page.locator('#machine-delivery svg [data-count-state="done"]');
  const doneBefore = totalOf(await doneCount.textContent());

  // A user created through the API: its message and the card message that follows, each acked.
  const user = await createUser(service.url, 'Viz Ada', `viz-${randomUUID()}@example.com`);
  await page.fill('#search', user.id);
  for (const [queue, happyPath] of [
    [environment.userQueue, happyPaths.publishes],
    [environment.cardQueue, happyPaths.publishesNothing],
  ] as const) {
    const message = page
      .locator('#message-list .message[data-outcome="acked"][data-finished="true"]', { hasText: queue })
      .first();
    await message.waitFor();
    t.deepEqual((await message.getAttribute('data-path'))?.split(' '), happyPath, `${queue} message path`);
    t.deepEqual(
      await message
        .locator('.message-path [data-step]')
        .allTextContents()
        .then((steps) => steps.map((step) => step.split(' ')[0])),
      happyPath,
    );
    t.true((await message.locator('.message-ids').textContent())!.includes(user.id));
  }

  // The counts moved without a reload.
  await waitUntil(async () => totalOf(await doneCount.textContent()) >= doneBefore + 2, {
    what: async () =>
      `the delivery chart's done count to grow past ${doneBefore} (shows "${await doneCount.textContent()}")`,
  });
  t.true(await page.evaluate('window.__sameDocument === true'), 'the page was not reloaded');
  t.regex(
    (await page.locator('#machine-delivery svg [data-count-transition="acking||0"]').textContent()) ?? '',
    /×\d+/,
  );

  // A poison message: dead-lettered, with its reason, found by its message id.
  const poisonId = `viz-poison-${randomUUID()}`;
  await publishRaw(environment.userQueue, ['this is { not JSON'], { messageId: poisonId });
  await page.fill('#search', poisonId);
  const poison = page.locator(
    `#message-list .message[data-message-id="${poisonId}"][data-outcome="dead-lettered"][data-finished="true"]`,
  );
  await poison.waitFor();
  t.deepEqual((await poison.getAttribute('data-path'))?.split(' '), ['receiving', 'deadLettering', 'acking', 'done']);
  t.regex((await poison.locator('.message-dead').textContent()) ?? '', /^dead-letter reason: body is not JSON/);
  await waitUntil(
    async () =>
      totalOf(await page.locator('#machine-delivery svg [data-count-state="deadLettering"]').textContent()) >= 1,
    {
      what: 'the deadLettering state to count the poison message',
    },
  );

  // Tracing the poison message's path on the chart.
  await poison.click();
  await page.locator('#machine-delivery svg .state.in-path[data-state="deadLettering"]').waitFor();
  await page.locator('#machine-delivery svg .edge.in-path[data-from="receiving"][data-to="deadLettering"]').waitFor();

  await page.fill('#search', '');
  const artifacts = path.join(repoRoot, 'test-artifacts');
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, 'viz.png') });

  t.deepEqual(problems, [], 'no console errors');
  t.deepEqual(elsewhere, [], 'nothing is fetched from anywhere but the service');
});
