/**
 * `/viz/app.js`: the live page's script, with no dependencies. It listens to `/viz/events`, writes the
 * counts into the inline charts, highlights states with actors in them, lists the recent deliveries
 * (filtered by the search box) and traces a clicked delivery's path on the chart. For the durable actors,
 * it polls their instances' counts every 2 s into their charts, and traces an instance's path when its id
 * is entered.
 *
 * Compiled for the browser by its own project (`tsconfig.json` beside it: the DOM's types, not Node's); it
 * imports only the types of what the server sends.
 */
import type { DeliveryState, MachineState } from '../../../machines/names.js';
import type { ActorCounts, DeliveryRecord, InstancePath, LiveStats, MachineCounts, StreamPayload } from '../payload.js';

interface ChartState {
  readonly path: string;
  readonly group: Element;
  readonly label: Element | null;
}

interface ChartEdge {
  readonly edge: Element;
  readonly from: string | null;
  readonly to: string | null;
  readonly keys: readonly string[];
}

interface Chart {
  readonly machine: string;
  readonly states: readonly ChartState[];
  readonly transitions: readonly { readonly key: string; readonly element: Element }[];
  readonly edges: readonly ChartEdge[];
}

/** The element the page is known to have (`page.ts` writes it); a missing one is a bug worth a loud error. */
function required<T extends Element>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`the page has no ${selector}`);
  return found;
}

const capacity = Number(document.body.getAttribute('data-capacity')) || 200;
const records = new Map<number, DeliveryRecord>();
let stats: LiveStats | null = null;
let version = 0;
let selected: number | null = null;
let paused = false;
let query = '';
let renderQueued = false;
let listDirty = true;

const streamStatus = required<HTMLElement>('#stream-status');
const actorsList = required<HTMLElement>('#actors');
const totals = required<HTMLElement>('#totals');
const list = required<HTMLElement>('#message-list');
const count = required<HTMLElement>('#message-count');
const search = required<HTMLInputElement>('#search');
const pause = required<HTMLInputElement>('#pause');

// Index every element the counts go into, once.
const indexChart = (svg: Element): Chart => ({
  machine: svg.getAttribute('data-machine') ?? '',
  states: Array.from(svg.querySelectorAll('.state'), (group) => ({
    path: group.getAttribute('data-state') ?? '',
    group,
    label: group.querySelector('[data-count-state]'),
  })),
  transitions: Array.from(svg.querySelectorAll('[data-count-transition]'), (element) => ({
    key: element.getAttribute('data-count-transition') ?? '',
    element,
  })),
  edges: Array.from(svg.querySelectorAll('.edge'), (edge) => ({
    edge,
    from: edge.getAttribute('data-from'),
    to: edge.getAttribute('data-to'),
    keys: (edge.getAttribute('data-transitions') ?? '').split(' ').filter(Boolean),
  })),
});
const charts: Chart[] = Array.from(
  document.querySelectorAll('.chart-panel:not(.actor-panel) svg.statechart'),
  indexChart,
);

function setConnected(connected: boolean): void {
  streamStatus.setAttribute('data-connected', String(connected));
  streamStatus.textContent = connected ? 'live' : 'reconnecting…';
}

function merge(payload: StreamPayload): void {
  stats = payload.stats;
  version = payload.version;
  if (payload.complete) records.clear();
  payload.deliveries.forEach((record) => records.set(record.seq, record));
  if (records.size > capacity) {
    const seqs = Array.from(records.keys()).sort((a, b) => a - b);
    for (let i = 0; i < seqs.length - capacity; i++) records.delete(seqs[i]!);
  }
  listDirty = true;
  queueRender();
}

function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => {
    renderQueued = false;
    renderStats();
    if (listDirty && !paused) renderList();
    document.body.setAttribute('data-version', String(version));
  }, 0);
}

// The actors' states drawn amber or red in the header; every other state is drawn green.
const warnStates: ReadonlySet<string> = new Set<MachineState>([
  'pausing',
  'paused',
  'resuming',
  'restarting',
  'reconnecting',
  'blocked',
  'backingOff',
  'delaying',
  'starting',
  'stopping',
  'draining',
  'connecting',
]);
const badStates: ReadonlySet<string> = new Set<MachineState>(['failed', 'closed', 'stopped']);

const noCounts: MachineCounts = { now: {}, entered: {}, transitions: {} };
// The delivery states whose entries the header totals.
const done: DeliveryState = 'done';
const deadLettering: DeliveryState = 'deadLettering';

function renderChart(chart: Chart, counts: MachineCounts): void {
  chart.states.forEach((state) => {
    const now = counts.now[state.path] ?? 0;
    const total = counts.entered[state.path] ?? 0;
    if (state.label) state.label.textContent = total ? `now ${now} · total ${total}` : '';
    if (state.path !== '') {
      state.group.classList.toggle('is-active', now > 0);
      state.group.classList.toggle('was-entered', total > 0);
    }
  });
  chart.transitions.forEach((transition) => {
    const taken = counts.transitions[transition.key] ?? 0;
    transition.element.textContent = taken ? ` ×${taken}` : '';
  });
  chart.edges.forEach((edge) => {
    const taken = edge.keys.some((key) => (counts.transitions[key] ?? 0) > 0);
    edge.edge.classList.toggle('is-taken', taken);
  });
  const badge = document.querySelector(`[data-tab-badge="${chart.machine}"]`);
  if (badge) {
    const inside = Object.keys(counts.now)
      .filter((path) => !path.includes('.'))
      .reduce((sum, path) => sum + (counts.now[path] ?? 0), 0);
    const inFlight = inside ? `${inside} in flight` : '';
    badge.textContent = chart.machine === 'delivery' ? inFlight : inside ? String(inside) : '';
  }
}

function renderActors(current: LiveStats): void {
  actorsList.textContent = '';
  current.actors
    .slice()
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .forEach((actor) => {
      const item = document.createElement('li');
      item.setAttribute('data-actor', actor.name);
      item.setAttribute('data-state', actor.state);
      item.className = badStates.has(actor.state)
        ? 'state-bad'
        : warnStates.has(actor.state)
          ? 'state-warn'
          : 'state-ok';
      item.appendChild(document.createTextNode(`${actor.name} `));
      const state = document.createElement('b');
      state.textContent = actor.state;
      item.appendChild(state);
      if (actor.error) item.title = actor.error;
      actorsList.appendChild(item);
    });
}

function renderStats(): void {
  if (!stats) return;
  const current = stats;
  charts.forEach((chart) => renderChart(chart, current.machines[chart.machine] ?? noCounts));
  renderActors(current);
  const delivery = current.machines['delivery'] ?? noCounts;
  totals.textContent =
    `in flight ${current.deliveriesInFlight}` +
    ` · done ${delivery.entered[done] ?? 0}` +
    ` · dead-lettered ${delivery.entered[deadLettering] ?? 0}` +
    ` · since ${new Date(current.startedAt).toLocaleTimeString()}`;
}

function matches(record: DeliveryRecord): boolean {
  if (!query) return true;
  const values = [record.messageId, record.key, ...Object.values(record.ids)];
  return values.some((value) => typeof value === 'string' && value.toLowerCase().includes(query));
}

function time(at: number): string {
  const date = new Date(at);
  return `${date.toTimeString().slice(0, 8)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function ms(value: number | undefined): string {
  if (value === undefined) return '';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function element(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function recordMeta(record: DeliveryRecord): string {
  // The consumer is shown when it is named otherwise than its queue.
  const consumer = record.consumer !== record.queue ? record.consumer : undefined;
  let meta = [record.service, consumer, record.queue].filter(Boolean).join(' · ');
  if (record.attempts) meta += ` · attempts ${record.attempts}`;
  if (record.redelivered) meta += ' · redelivered';
  if (record.batch > 1) meta += ` · in a batch of ${record.batch}`;
  meta += ` · ${time(record.startedAt)}`;
  if (record.finishedAt) meta += ` · ${ms(record.finishedAt - record.startedAt)}`;
  return meta;
}

function recordPath(record: DeliveryRecord): HTMLElement {
  const path = element('div', 'message-path');
  record.path.forEach((step, index) => {
    if (index > 0) path.appendChild(element('span', 'arrow', '→'));
    const part = element('span', 'step', step.state);
    part.setAttribute('data-step', step.state);
    if (step.ms !== undefined) {
      part.appendChild(document.createTextNode(' '));
      part.appendChild(element('small', '', ms(step.ms)));
    }
    path.appendChild(part);
  });
  return path;
}

function renderRecord(record: DeliveryRecord): HTMLElement {
  const outcome = record.outcome ?? (record.finishedAt ? 'ended' : 'in flight');
  const item = element('li', `message outcome-${outcome.replace(/\s+/g, '-')}`);
  if (record.seq === selected) item.classList.add('selected');
  item.setAttribute('data-seq', String(record.seq));
  item.setAttribute('data-message-id', record.messageId ?? '');
  item.setAttribute('data-outcome', outcome);
  // A message can be acked while it still publishes: finished says its machine has stopped.
  item.setAttribute('data-finished', record.finishedAt ? 'true' : 'false');
  item.setAttribute('data-path', record.path.map((step) => step.state).join(' '));

  const head = element('div', 'message-head');
  head.appendChild(element('span', 'outcome', outcome));
  head.appendChild(element('code', 'message-id', record.messageId ?? '(no id)'));
  head.appendChild(element('span', 'meta', recordMeta(record)));
  item.appendChild(head);
  item.appendChild(recordPath(record));

  const ids = Object.entries(record.ids);
  if (ids.length) {
    item.appendChild(element('div', 'message-ids', ids.map(([name, id]) => `${name} ${id}`).join(' · ')));
  }
  if (record.deadLetterReason) {
    item.appendChild(element('div', 'message-dead', `dead-letter reason: ${record.deadLetterReason}`));
  } else if (record.error) {
    item.appendChild(element('div', 'message-error', `error: ${record.error}`));
  }
  return item;
}

function renderList(): void {
  listDirty = false;
  const all = Array.from(records.values()).sort((a, b) => b.seq - a.seq);
  const shown = all.filter(matches);
  const fragment = document.createDocumentFragment();
  shown.forEach((record) => fragment.appendChild(renderRecord(record)));
  list.textContent = '';
  list.appendChild(fragment);
  count.textContent = query
    ? `${shown.length} of the last ${all.length} deliveries match`
    : `the last ${all.length} deliveries (at most ${capacity}), newest first`;
}

function showTab(machine: string | null): void {
  document.querySelectorAll('.tab').forEach((tab) => {
    tab.setAttribute('aria-selected', String(tab.getAttribute('data-tab') === machine));
  });
  document.querySelectorAll<HTMLElement>('[data-machine-panel]').forEach((panel) => {
    panel.hidden = panel.getAttribute('data-machine-panel') !== machine;
  });
}

function tracePath(record: DeliveryRecord | undefined): void {
  const chart = charts.find((candidate) => candidate.machine === 'delivery');
  if (!chart) return;
  const states = record ? record.path.map((step) => step.state) : [];
  chart.states.forEach((state) => {
    state.group.classList.toggle('in-path', states.includes(state.path));
  });
  chart.edges.forEach((edge) => {
    const on = states.some((state, i) => i > 0 && states[i - 1] === edge.from && state === edge.to);
    edge.edge.classList.toggle('in-path', on);
  });
}

/** The element of `selector` that an event happened in, or null. */
function closest(event: Event, selector: string): Element | null {
  return event.target instanceof Element ? event.target.closest(selector) : null;
}

required('.tabs').addEventListener('click', (event) => {
  const tab = closest(event, '.tab');
  if (tab) showTab(tab.getAttribute('data-tab'));
});

list.addEventListener('click', (event) => {
  const item = closest(event, '.message');
  if (!item) return;
  const seq = Number(item.getAttribute('data-seq'));
  selected = selected === seq ? null : seq;
  showTab('delivery');
  tracePath(selected === null ? undefined : records.get(seq));
  listDirty = true;
  renderList();
});

search.addEventListener('input', () => {
  query = search.value.trim().toLowerCase();
  listDirty = true;
  renderList();
});

pause.addEventListener('change', () => {
  paused = pause.checked;
  if (!paused) queueRender();
});

const initial = new URLSearchParams(location.search).get('q');
if (initial) {
  search.value = initial;
  query = initial.trim().toLowerCase();
}

const source = new EventSource('/viz/events');
source.addEventListener('snapshot', (event) => {
  merge(JSON.parse(event.data) as StreamPayload);
  setConnected(true);
});
source.addEventListener('update', (event) => {
  merge(JSON.parse(event.data) as StreamPayload);
});
source.addEventListener('error', () => {
  setConnected(false);
});

// The durable actors: a panel each, with its chart, its status line, the instance field and the path list.
interface ActorPanel {
  readonly name: string;
  readonly chart: Chart;
  readonly status: HTMLElement;
  readonly path: HTMLElement;
}

const actorPanels: ActorPanel[] = Array.from(document.querySelectorAll<HTMLElement>('[data-actor-panel]'), (panel) => ({
  name: panel.getAttribute('data-actor-panel') ?? '',
  chart: indexChart(panel.querySelector('svg.statechart') ?? panel),
  status: panel.querySelector<HTMLElement>('[data-actor-status]') ?? panel,
  path: panel.querySelector<HTMLElement>('[data-instance-path]') ?? panel,
}));
const actorPollMs = 2_000;

function renderActorCounts(panel: ActorPanel, counts: ActorCounts): void {
  panel.chart.states.forEach((state) => {
    const now = counts.now[state.path] ?? 0;
    if (state.label) state.label.textContent = now ? `now ${now}` : '';
    if (state.path !== '') state.group.classList.toggle('is-active', now > 0);
  });
  const badge = document.querySelector(`[data-actor-badge="${panel.name}"]`);
  if (badge) badge.textContent = counts.error ? '!' : String(counts.instances);
  showActorStatus(
    panel,
    counts.error
      ? `counts unavailable: ${counts.error}`
      : `${counts.instances} instances · service ${counts.service} · read ${time(counts.at)}`,
    counts.error !== undefined,
  );
}

function showActorStatus(panel: ActorPanel, text: string, failed: boolean): void {
  panel.status.textContent = text;
  panel.status.setAttribute('data-error', String(failed));
}

async function pollActors(): Promise<void> {
  try {
    const response = await fetch('/viz/actors.json');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { actors } = (await response.json()) as { actors: readonly ActorCounts[] };
    actorPanels.forEach((panel) => {
      const counts = actors.find((each) => each.name === panel.name);
      if (counts) renderActorCounts(panel, counts);
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    actorPanels.forEach((panel) => showActorStatus(panel, `counts unavailable: ${reason}`, true));
  } finally {
    setTimeout(() => void pollActors(), actorPollMs);
  }
}

/** True when `path` is `leaf` or one of its ancestors (`card` covers `card.waiting`). */
const covers = (path: string, leaf: string) => leaf === path || leaf.startsWith(`${path}.`);
const leaves = (state: string) => state.split(',');

function traceInstance(chart: Chart, found: InstancePath | undefined): void {
  const steps = found?.path ?? [];
  // The step that created the instance left the machine's initial state (the root's initial arrow's target).
  const initial = chart.edges.find((edge) => edge.from === '' && edge.keys.some((key) => key.startsWith('|')))?.to;
  const pairs = steps.map((step) => [step.from ?? initial ?? '', step.to] as const);
  const visited = pairs.flatMap(([from, to]) => [...leaves(from), ...leaves(to)]).filter(Boolean);
  const current = found ? leaves(found.instance.state) : [];
  chart.states.forEach((state) => {
    const on = state.path !== '' && visited.some((leaf) => covers(state.path, leaf));
    state.group.classList.toggle('in-path', on);
    state.group.classList.toggle('is-current', state.path !== '' && current.some((leaf) => covers(state.path, leaf)));
  });
  chart.edges.forEach((edge) => {
    const taken = pairs.some(
      ([from, to]) =>
        edge.from !== null &&
        edge.to !== null &&
        leaves(from).some((leaf) => covers(edge.from!, leaf)) &&
        leaves(to).some((leaf) => covers(edge.to!, leaf)),
    );
    const start = edge.from === '' && steps.some((step) => step.from === null);
    edge.edge.classList.toggle('in-path', taken || start);
  });
}

function renderInstance(panel: ActorPanel, found: InstancePath): void {
  const { instance } = found;
  panel.path.textContent = '';
  const head = element('p', 'instance-head');
  head.setAttribute('data-instance-state', instance.state);
  head.append(
    element('code', '', instance.instanceId),
    ` · ${instance.state} (${instance.status}) · definition v${instance.definitionVersion}` +
      ` · created ${new Date(instance.createdAt).toLocaleString()}`,
  );
  const steps = element('ol', 'instance-steps');
  found.path.forEach((step) => {
    const item = element('li', 'instance-step');
    item.setAttribute('data-event', step.event);
    item.setAttribute('data-from', step.from ?? '');
    item.setAttribute('data-to', step.to);
    item.append(
      element('span', 'meta', `${new Date(step.at).toLocaleDateString()} ${time(step.at)}`),
      ` ${step.event}: ${step.from ?? '(start)'} → ${step.to}`,
    );
    if (step.published.length) item.append(element('small', '', ` · published ${step.published.length}`));
    steps.appendChild(item);
  });
  panel.path.append(head, steps);
  if (found.truncated) panel.path.append(element('p', 'meta', `the first ${found.path.length} steps only`));
}

async function showInstance(panel: ActorPanel, id: string): Promise<void> {
  traceInstance(panel.chart, undefined);
  panel.path.textContent = '';
  if (!id) return;
  panel.path.textContent = 'reading…';
  try {
    const response = await fetch(
      `/viz/actors/${encodeURIComponent(panel.name)}/instances/${encodeURIComponent(id)}.json`,
    );
    const body = (await response.json()) as InstancePath | { readonly error: string };
    if ('error' in body) throw new Error(body.error);
    renderInstance(panel, body);
    traceInstance(panel.chart, body);
  } catch (error) {
    panel.path.textContent = '';
    panel.path.appendChild(element('p', 'message-error', error instanceof Error ? error.message : String(error)));
  }
}

actorPanels.forEach((panel) => {
  const form = document.querySelector<HTMLFormElement>(`[data-instance-form="${panel.name}"]`);
  form?.addEventListener('submit', (event) => {
    event.preventDefault();
    const field = form.elements.namedItem('instance');
    void showInstance(panel, field instanceof HTMLInputElement ? field.value.trim() : '');
  });
});
if (actorPanels.length) void pollActors();
