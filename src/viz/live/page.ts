/**
 * The visualizer's HTML page: every machine's chart inline (drawn on the server from its definition), the
 * status of the process's long-lived actors, the recent deliveries, and a tab per durable actor (its chart,
 * its instances by state, a field to trace one instance's path). The script and style come from
 * this process too (`/viz/app.js`, `/viz/app.css`); nothing is loaded from anywhere else.
 */
import type { RenderedMachine } from '../charts/render.js';
import { escapeXml } from '../charts/svg.js';

export interface PageOptions {
  /** How many recent deliveries the process keeps (and the page shows at most). */
  readonly capacity: number;
  /** The durable actors' charts (each one's `id` is the actor's name). */
  readonly actors?: readonly RenderedMachine[];
}

const actorTab = (actor: RenderedMachine) =>
  `<button type="button" role="tab" class="tab tab-actor" data-tab="actor:${escapeXml(actor.id)}" aria-selected="false">` +
  `${escapeXml(actor.title)}<span class="tab-badge" data-actor-badge="${escapeXml(actor.id)}"></span></button>`;

function actorPanel(actor: RenderedMachine): string {
  const name = escapeXml(actor.id);
  return (
    `<section class="chart-panel actor-panel" id="actor-${name}" data-machine-panel="actor:${name}" data-actor-panel="${name}" hidden>` +
    `<p class="chart-summary">${escapeXml(actor.summary)} <span class="chart-source">` +
    `<a href="/viz/actors/${encodeURIComponent(actor.id)}.svg">SVG</a></span></p>` +
    `<p class="actor-status" data-actor-status="${name}">reading counts…</p>` +
    `<form class="instance-form" data-instance-form="${name}">` +
    `<input type="search" name="instance" placeholder="Instance id: show its path" autocomplete="off" spellcheck="false">` +
    `<button type="submit">Show path</button></form>` +
    `<div class="chart">${actor.svg}</div>` +
    `<div class="instance-path" data-instance-path="${name}"></div></section>`
  );
}

export function vizPage(machines: readonly RenderedMachine[], { capacity, actors = [] }: PageOptions): string {
  const tabs =
    machines
      .map(
        (machine, index) =>
          `<button type="button" role="tab" class="tab" data-tab="${escapeXml(machine.id)}" aria-selected="${index === 0}">` +
          `${escapeXml(machine.title)}<span class="tab-badge" data-tab-badge="${escapeXml(machine.id)}"></span></button>`,
      )
      .join('') + actors.map(actorTab).join('');
  const panels =
    machines
      .map(
        (machine, index) =>
          `<section class="chart-panel" id="machine-${escapeXml(machine.id)}" data-machine-panel="${escapeXml(machine.id)}"${index === 0 ? '' : ' hidden'}>` +
          `<p class="chart-summary">${escapeXml(machine.summary)} <span class="chart-source">Drawn from <code>${escapeXml(machine.source)}</code>` +
          ` · <a href="/viz/machines/${encodeURIComponent(machine.id)}.svg">SVG</a>` +
          ` · <a href="/viz/machines/${encodeURIComponent(machine.id)}.json">definition</a></span></p>` +
          `<div class="chart">${machine.svg}</div></section>`,
      )
      .join('') + actors.map(actorPanel).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ackstate · state machines</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/viz/app.css">
</head>
<body data-capacity="${capacity}">
<header>
  <h1>ackstate <span class="subtitle">state machines</span></h1>
  <span id="stream-status" data-connected="false">connecting…</span>
  <ul id="actors" aria-label="Long-lived actors"></ul>
  <span id="totals"></span>
</header>
<main>
  <section id="charts" aria-label="State charts">
    <nav class="tabs" role="tablist">${tabs}</nav>
    ${panels}
    <p class="legend">Highlighted: states with actors in them now. <b>now</b>: actors in the state now; <b>total</b>: entries since the process started; <b>×n</b>: times a transition was taken. Click a message to trace its path.</p>
  </section>
  <section id="messages" aria-label="Recent messages">
    <div class="messages-head">
      <h2>Recent messages</h2>
      <input id="search" type="search" placeholder="Search message id or user id" autocomplete="off" spellcheck="false">
      <label class="pause"><input id="pause" type="checkbox"> pause</label>
    </div>
    <p id="message-count"></p>
    <ol id="message-list"></ol>
  </section>
</main>
<script type="module" src="/viz/app.js"></script>
</body>
</html>
`;
}
