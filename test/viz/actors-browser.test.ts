/**
 * A durable actor on the live page, in a real headless Chromium against a runtime on the local RabbitMQ and
 * PostgreSQL: the actor's tab shows its chart with the number of instances in each state, the counts follow
 * an event without a reload, and an instance id entered in its field lists that instance's path and draws it
 * on the chart. A screenshot is saved in test-artifacts/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { chromium } from 'playwright-core';
import { publishRaw, publishToExchange } from '../support/broker.js';
import { cardActivation, cardNames, cardRuntimes, instanceRows } from '../support/durable-cards.js';
import { repoRoot } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
];
const patience = 60_000;

test('GET /viz shows a durable actor: its instances by state, live, and a chosen instance path', async (t) => {
  t.timeout(4 * patience);
  t.true(existsSync(chromiumPath), `${chromiumPath} is missing: apt-get install -y chromium`);
  const names = cardNames('vizpage');
  const runtime = await cardRuntimes(t, names).start(cardActivation(names, { remindMs: 600_000, expireMs: 600_000 }));
  const url = `http://127.0.0.1:${runtime.port}`;
  await publishRaw(
    names.cardQueue,
    ['c-1', 'c-2', 'c-3'].map((id) => JSON.stringify({ id })),
  );
  await waitUntil(async () => (await instanceRows(names)).length === 3, { what: 'three instances' });

  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(patience);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

  t.is((await page.goto(`${url}/viz`))?.status(), 200);
  await page.evaluate('window.__sameDocument = true');
  await page.click(`.tab[data-tab="actor:${names.actor}"]`);
  const panel = page.locator(`[data-actor-panel="${names.actor}"]`);
  t.true(await panel.locator('svg.statechart [data-state="reminded"]').isVisible(), 'the chart is drawn');
  const count = (state: string) => panel.locator(`svg [data-count-state="${state}"]`);
  await panel.locator('svg [data-count-state="waiting"]', { hasText: 'now 3' }).waitFor();
  t.is(await count('active').textContent(), '');
  t.true(await panel.locator('svg .state[data-state="waiting"]').evaluate((g) => g.classList.contains('is-active')));

  // An event moves one instance: the counts follow without a reload.
  await publishToExchange(names.exchange.name, 'card.activated', JSON.stringify({ cardId: 'c-2' }));
  await panel.locator('svg [data-count-state="active"]', { hasText: 'now 1' }).waitFor();
  await panel.locator('svg [data-count-state="waiting"]', { hasText: 'now 2' }).waitFor();
  t.true(await page.evaluate('window.__sameDocument === true'), 'the page was not reloaded');
  t.regex((await panel.locator('[data-actor-status]').textContent()) ?? '', /^3 instances/);

  // The chosen instance's path: listed in order, and drawn on the chart.
  await panel.locator('input[name="instance"]').fill('c-2');
  await panel.locator('button[type="submit"]').click();
  const steps = panel.locator('.instance-step');
  await waitUntil(async () => (await steps.count()) === 2, { what: 'the two steps of c-2' });
  t.deepEqual(
    await steps.evaluateAll((items) =>
      items.map((item) => [item.getAttribute('data-event'), item.getAttribute('data-to')]),
    ),
    [
      ['card.issued', 'waiting'],
      ['card.activated', 'active'],
    ],
  );
  t.is(await panel.locator('.instance-head').getAttribute('data-instance-state'), 'active');
  const inPath = await panel
    .locator('svg .state.in-path')
    .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-state')));
  t.deepEqual(inPath.sort(), ['active', 'new', 'waiting']);
  t.is(await panel.locator('svg .edge.in-path[data-from="waiting"][data-to="active"]').count(), 1);
  t.is(await panel.locator('svg .edge.in-path[data-from="waiting"][data-to="reminded"]').count(), 0);

  // An unknown instance: the reason, and nothing drawn.
  await panel.locator('input[name="instance"]').fill('c-404');
  await panel.locator('button[type="submit"]').click();
  await panel.locator('.instance-path .message-error', { hasText: 'has no instance c-404' }).waitFor();
  t.is(await panel.locator('svg .in-path').count(), 0);

  await panel.locator('input[name="instance"]').fill('c-2');
  await panel.locator('button[type="submit"]').click();
  await steps.nth(1).waitFor();
  const artifacts = path.join(repoRoot, 'test-artifacts');
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, 'viz-actors.png'), fullPage: true });
  // Chromium logs the 404 of the unknown instance's lookup; nothing else.
  t.deepEqual(
    problems.filter((problem) => !/status of 404/.test(problem)),
    [],
  );
  t.is(problems.length, 1);
});
