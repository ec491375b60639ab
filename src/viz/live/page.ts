/**
 * The visualizer's HTML page: every machine's chart inline (drawn on the server from its definition), the
 * status of the process's long-lived actors, and the recent deliveries. The script and style come from
 * this process too (`/viz/app.js`, `/viz/app.css`); nothing is loaded from anywhere else.
 */
import type { RenderedMachine } from '../charts/render.js';
import { escapeXml } from '../charts/svg.js';

export interface PageOptions {
  /** How many recent deliveries the process keeps (and the page shows at most). */
  readonly capacity: number;
}

export function vizPage(machines: readonly RenderedMachine[], { capacity }: PageOptions): string {
  const tabs = machines
    .map(
      (machine, index) =>
        `<button type="button" role="tab" class="tab" data-tab="${escapeXml(machine.id)}" aria-selected="${index === 0}">` +
        `${escapeXml(machine.title)}<span class="tab-badge" data-tab-badge="${escapeXml(machine.id)}"></span></button>`,
    )
    .join('');
  const panels = machines
    .map(
      (machine, index) =>
        `<section class="chart-panel" id="machine-${escapeXml(machine.id)}" data-machine-panel="${escapeXml(machine.id)}"${index === 0 ? '' : ' hidden'}>` +
        `<p class="chart-summary">${escapeXml(machine.summary)} <span class="chart-source">Drawn from <code>${escapeXml(machine.source)}</code>` +
        ` · <a href="/viz/machines/${encodeURIComponent(machine.id)}.svg">SVG</a>` +
        ` · <a href="/viz/machines/${encodeURIComponent(machine.id)}.json">definition</a></span></p>` +
        `<div class="chart">${machine.svg}</div></section>`,
    )
    .join('');
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
