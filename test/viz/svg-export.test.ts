/**
 * The pictures are drawn from the machines' own definitions: every state of every machine is in its SVG,
 * and so is every transition, with its event, guard and delay. States are read here from XState's own
 * `machine.toJSON()`, independently of the chart model the pictures are drawn from.
 */
import test from 'ava';
import { assign, createMachine, setup } from 'xstate';
import { chartOf } from '../../src/viz/charts/chart.js';
import { runtimeMachines } from '../../src/viz/charts/machines.js';
import { renderMachine, renderMachines } from '../../src/viz/charts/render.js';

interface JsonState {
  key: string;
  type: string;
  states: Record<string, JsonState>;
  transitions: { eventType: string; target?: string[]; guard?: unknown; delay?: unknown }[];
}

/** Every state path of a `toJSON()` definition, the root left out. */
function jsonPaths(state: JsonState, prefix = ''): { path: string; key: string; type: string }[] {
  return Object.values(state.states).flatMap((child) => {
    const path = prefix ? `${prefix}.${child.key}` : child.key;
    return [{ path, key: child.key, type: child.type }, ...jsonPaths(child, path)];
  });
}

const attribute = (value: string) => value.replace(/&/g, '&#38;').replace(/"/g, '&#34;');

test('the runtime lists the seven machines of src/machines', (t) => {
  t.deepEqual(runtimeMachines.map((entry) => entry.id).sort(), [
    'connection',
    'consumer',
    'delivery',
    'outboxRelay',
    'retention',
    'supervisor',
    'timerFiring',
  ]);
});

for (const entry of runtimeMachines) {
  test(`the ${entry.id} picture shows every state and transition of its definition`, async (t) => {
    const rendered = await renderMachine(entry);
    const definition = entry.machine.toJSON() as unknown as JsonState;
    const states = jsonPaths(definition);
    t.true(states.length >= 4);
    t.true(rendered.svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    for (const state of states) {
      t.true(rendered.svg.includes(`data-state="${attribute(state.path)}"`), `state ${state.path} has a box`);
      t.true(rendered.svg.includes(`>${state.key}</text>`), `state ${state.path} is named`);
      if (state.type === 'final') {
        t.regex(
          rendered.svg,
          new RegExp(`class="state state-final" data-state="${state.path}"`),
          `${state.path} is drawn final`,
        );
      }
    }
    t.deepEqual([...rendered.states].sort(), states.map((state) => state.path).sort());

    // Every transition with a target is an arrow between its states, labelled; targetless ones are listed in the state.
    const chart = chartOf(entry.machine);
    for (const transition of chart.transitions) {
      t.true(
        rendered.svg.includes(`data-transition="${attribute(transition.key)}"`),
        `transition ${transition.key} is labelled`,
      );
      t.true(rendered.svg.includes(transition.label.replace(/&/g, '&#38;')), `label ${transition.label}`);
      for (const target of transition.targets) {
        t.regex(rendered.svg, new RegExp(`data-to="${target.replace(/\./g, '\\.')}"`), `an arrow ends at ${target}`);
      }
    }
    t.deepEqual(JSON.parse(JSON.stringify(rendered.definition)), JSON.parse(JSON.stringify(definition)));
  });
}

test('the delivery picture labels its guards, its delayed and its eventless transitions', async (t) => {
  const delivery = runtimeMachines.find((entry) => entry.id === 'delivery')!;
  const { svg } = await renderMachine(delivery);
  for (const text of [
    'entry / decode',
    'always [undecodable]',
    'always [somethingToPublish]',
    'done: rollback [dependencyUnavailable]',
    'done: rollback [else]',
    'done: recordFailure [mustDeadLetter]',
    'after retryDelay',
    'SHUTDOWN',
    '>always<',
    'entry / ack',
    'entry / nack',
  ]) {
    t.true(svg.includes(text), `shows "${text}"`);
  }
  t.regex(svg, /data-from="acking" data-to="done"/);
  t.regex(svg, /data-from="nacking" data-to="done"/);
});

test('nested, parallel, history and final states are drawn inside their parents', async (t) => {
  const machine = setup({
    guards: { ready: () => true },
    delays: { soon: 10 },
  }).createMachine({
    id: 'nested',
    initial: 'outer',
    on: { RESET: '.outer' },
    states: {
      outer: {
        initial: 'first',
        states: {
          first: { on: { NEXT: { target: 'second', guard: 'ready' } } },
          second: { after: { soon: 'third', 500: 'first' } },
          third: { always: '#nested.both' },
          remembered: { type: 'history' },
        },
        on: { JUMP: '.second' },
      },
      both: {
        type: 'parallel',
        states: {
          left: { initial: 'l1', states: { l1: { on: { GO: 'l2' } }, l2: { type: 'final' } } },
          right: { initial: 'r1', states: { r1: { entry: assign({}) }, r2: {} } },
        },
        onDone: 'finished',
      },
      finished: { type: 'final' },
    },
  });
  const { svg, states } = await renderMachine({
    id: 'nested',
    title: 'Nested',
    summary: 'test',
    source: 'test',
    machine,
    direction: 'DOWN',
  });
  const expected = [
    'outer',
    'outer.first',
    'outer.second',
    'outer.third',
    'outer.remembered',
    'both',
    'both.left',
    'both.left.l1',
    'both.left.l2',
    'both.right',
    'both.right.r1',
    'both.right.r2',
    'finished',
  ];
  t.deepEqual([...states].sort(), [...expected].sort());
  for (const path of expected) t.true(svg.includes(`data-state="${path}"`), path);
  for (const text of [
    'NEXT [ready]',
    'after soon',
    'after 500 ms',
    '>always<',
    'done: both',
    'any state',
    'any state of outer',
    'JUMP',
    'RESET',
  ]) {
    t.true(svg.includes(text), `shows "${text}"`);
  }
  t.regex(svg, /class="state state-parallel" data-state="both"/);
  t.regex(svg, /class="state state-history" data-state="outer.remembered"/);
  t.regex(svg, /class="state state-final" data-state="both.left.l2"/);
});

test('text from a definition is escaped in the picture', async (t) => {
  const machine = createMachine({
    id: 'odd',
    initial: 'a',
    states: { a: { on: { 'X<Y>&"Z"': 'b' }, description: '<script>' }, b: {} },
  });
  const { svg } = await renderMachine({
    id: 'odd',
    title: 'Odd',
    summary: '',
    source: '',
    machine,
    direction: 'RIGHT',
  });
  t.false(svg.includes('<script>'));
  t.true(svg.includes('X&#60;Y&#62;&#38;&#34;Z&#34;'));
});

test('rendering is deterministic, so the committed pictures only change with the machines', async (t) => {
  const first = await renderMachines(runtimeMachines);
  const second = await renderMachines(runtimeMachines);
  t.deepEqual(
    first.map((machine) => machine.svg),
    second.map((machine) => machine.svg),
  );
});
