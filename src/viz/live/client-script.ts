/**
 * `/viz/app.js`: the live page's script, plain browser JavaScript with no dependencies. It listens to
 * `/viz/events`, writes the counts into the inline charts, highlights states with actors in them, lists the
 * recent deliveries (filtered by the search box) and traces a clicked delivery's path on the chart.
 *
 * Kept as a string so that the build needs no asset step; it must contain no backtick and no dollar-brace.
 */
export const vizClientScript = String.raw`
(function () {
  'use strict';

  var capacity = Number(document.body.getAttribute('data-capacity')) || 200;
  var records = new Map();
  var stats = null;
  var version = 0;
  var selected = null;
  var paused = false;
  var query = '';
  var renderQueued = false;
  var listDirty = true;

  var streamStatus = document.getElementById('stream-status');
  var actorsList = document.getElementById('actors');
  var totals = document.getElementById('totals');
  var list = document.getElementById('message-list');
  var count = document.getElementById('message-count');
  var search = document.getElementById('search');
  var pause = document.getElementById('pause');

  // Index every element the counts go into, once.
  var charts = [];
  Array.prototype.forEach.call(document.querySelectorAll('svg.statechart'), function (svg) {
    var chart = { machine: svg.getAttribute('data-machine'), svg: svg, states: [], transitions: [], edges: [] };
    Array.prototype.forEach.call(svg.querySelectorAll('.state'), function (group) {
      chart.states.push({
        path: group.getAttribute('data-state'),
        group: group,
        label: group.querySelector('[data-count-state]')
      });
    });
    Array.prototype.forEach.call(svg.querySelectorAll('[data-count-transition]'), function (element) {
      chart.transitions.push({ key: element.getAttribute('data-count-transition'), element: element });
    });
    Array.prototype.forEach.call(svg.querySelectorAll('.edge'), function (edge) {
      chart.edges.push({
        edge: edge,
        from: edge.getAttribute('data-from'),
        to: edge.getAttribute('data-to'),
        keys: (edge.getAttribute('data-transitions') || '').split(' ').filter(Boolean)
      });
    });
    charts.push(chart);
  });

  function setConnected(connected) {
    streamStatus.setAttribute('data-connected', String(connected));
    streamStatus.textContent = connected ? 'live' : 'reconnecting…';
  }

  function merge(payload) {
    stats = payload.stats;
    version = payload.version;
    if (payload.complete) records.clear();
    payload.deliveries.forEach(function (record) { records.set(record.seq, record); });
    if (records.size > capacity) {
      var seqs = Array.from(records.keys()).sort(function (a, b) { return a - b; });
      for (var i = 0; i < seqs.length - capacity; i++) records.delete(seqs[i]);
    }
    listDirty = true;
    queueRender();
  }

  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    setTimeout(function () {
      renderQueued = false;
      renderStats();
      if (listDirty && !paused) renderList();
      document.body.setAttribute('data-version', String(version));
    }, 0);
  }

  var warnStates = { pausing: 1, paused: 1, resuming: 1, restarting: 1, reconnecting: 1, blocked: 1, backingOff: 1, delaying: 1, starting: 1, stopping: 1, draining: 1, connecting: 1 };
  var badStates = { failed: 1, closed: 1, stopped: 1 };

  function renderStats() {
    if (!stats) return;
    charts.forEach(function (chart) {
      var counts = stats.machines[chart.machine] || { now: {}, entered: {}, transitions: {} };
      chart.states.forEach(function (state) {
        var now = counts.now[state.path] || 0;
        var total = counts.entered[state.path] || 0;
        if (state.label) state.label.textContent = total ? 'now ' + now + ' · total ' + total : '';
        if (state.path !== '') {
          state.group.classList.toggle('is-active', now > 0);
          state.group.classList.toggle('was-entered', total > 0);
        }
      });
      chart.transitions.forEach(function (transition) {
        var taken = counts.transitions[transition.key] || 0;
        transition.element.textContent = taken ? ' ×' + taken : '';
      });
      chart.edges.forEach(function (edge) {
        var taken = edge.keys.some(function (key) { return (counts.transitions[key] || 0) > 0; });
        edge.edge.classList.toggle('is-taken', taken);
      });
      var badge = document.querySelector('[data-tab-badge="' + chart.machine + '"]');
      if (badge) {
        var inside = Object.keys(counts.now)
          .filter(function (path) { return path.indexOf('.') < 0; })
          .reduce(function (sum, path) { return sum + counts.now[path]; }, 0);
        badge.textContent = chart.machine === 'delivery' ? (inside ? inside + ' in flight' : '') : (inside ? String(inside) : '');
      }
    });
    actorsList.textContent = '';
    stats.actors
      .slice()
      .sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; })
      .forEach(function (actor) {
        var item = document.createElement('li');
        item.setAttribute('data-actor', actor.name);
        item.setAttribute('data-state', actor.state);
        item.className = badStates[actor.state] ? 'state-bad' : warnStates[actor.state] ? 'state-warn' : 'state-ok';
        item.appendChild(document.createTextNode(actor.name + ' '));
        var state = document.createElement('b');
        state.textContent = actor.state;
        item.appendChild(state);
        if (actor.error) item.title = actor.error;
        actorsList.appendChild(item);
      });
    var delivery = stats.machines.delivery || { entered: {} };
    totals.textContent =
      'in flight ' + stats.deliveriesInFlight +
      ' · done ' + (delivery.entered.done || 0) +
      ' · dead-lettered ' + (delivery.entered.deadLettering || 0) +
      ' · since ' + new Date(stats.startedAt).toLocaleTimeString();
  }

  function matches(record) {
    if (!query) return true;
    var values = [record.messageId, record.key].concat(Object.keys(record.ids || {}).map(function (k) { return record.ids[k]; }));
    return values.some(function (value) { return typeof value === 'string' && value.toLowerCase().indexOf(query) >= 0; });
  }

  function time(at) {
    var date = new Date(at);
    return date.toTimeString().slice(0, 8) + '.' + String(date.getMilliseconds()).padStart(3, '0');
  }

  function ms(value) {
    if (value === undefined || value === null) return '';
    return value < 10 ? value.toFixed(1) + ' ms' : Math.round(value) + ' ms';
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderRecord(record) {
    var outcome = record.outcome || (record.finishedAt ? 'ended' : 'in flight');
    var item = element('li', 'message outcome-' + outcome.replace(/\s+/g, '-'));
    if (record.seq === selected) item.classList.add('selected');
    item.setAttribute('data-seq', String(record.seq));
    item.setAttribute('data-message-id', record.messageId || '');
    item.setAttribute('data-outcome', outcome);
    // A message can be acked while it still publishes: finished says its machine has stopped.
    item.setAttribute('data-finished', record.finishedAt ? 'true' : 'false');
    item.setAttribute('data-path', record.path.map(function (step) { return step.state; }).join(' '));

    var head = element('div', 'message-head');
    head.appendChild(element('span', 'outcome', outcome));
    head.appendChild(element('code', 'message-id', record.messageId || '(no id)'));
    // The consumer is shown when it is named otherwise than its queue.
    var consumer = record.consumer !== record.queue ? record.consumer : undefined;
    var meta = [record.service, consumer, record.queue].filter(Boolean).join(' · ');
    if (record.attempts) meta += ' · attempts ' + record.attempts;
    if (record.redelivered) meta += ' · redelivered';
    if (record.batch > 1) meta += ' · in a batch of ' + record.batch;
    meta += ' · ' + time(record.startedAt);
    if (record.finishedAt) meta += ' · ' + ms(record.finishedAt - record.startedAt);
    head.appendChild(element('span', 'meta', meta));
    item.appendChild(head);

    var path = element('div', 'message-path');
    record.path.forEach(function (step, index) {
      if (index > 0) path.appendChild(element('span', 'arrow', '→'));
      var part = element('span', 'step', step.state);
      part.setAttribute('data-step', step.state);
      if (step.ms !== undefined) {
        part.appendChild(document.createTextNode(' '));
        part.appendChild(element('small', '', ms(step.ms)));
      }
      path.appendChild(part);
    });
    item.appendChild(path);

    var ids = Object.keys(record.ids || {});
    if (ids.length) {
      item.appendChild(element('div', 'message-ids', ids.map(function (k) { return k + ' ' + record.ids[k]; }).join(' · ')));
    }
    if (record.deadLetterReason) {
      item.appendChild(element('div', 'message-dead', 'dead-letter reason: ' + record.deadLetterReason));
    } else if (record.error) {
      item.appendChild(element('div', 'message-error', 'error: ' + record.error));
    }
    return item;
  }

  function renderList() {
    listDirty = false;
    var all = Array.from(records.values()).sort(function (a, b) { return b.seq - a.seq; });
    var shown = all.filter(matches);
    var fragment = document.createDocumentFragment();
    shown.forEach(function (record) { fragment.appendChild(renderRecord(record)); });
    list.textContent = '';
    list.appendChild(fragment);
    count.textContent = query
      ? shown.length + ' of the last ' + all.length + ' deliveries match'
      : 'the last ' + all.length + ' deliveries (at most ' + capacity + '), newest first';
  }

  function showTab(machine) {
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (tab) {
      tab.setAttribute('aria-selected', String(tab.getAttribute('data-tab') === machine));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-machine-panel]'), function (panel) {
      panel.hidden = panel.getAttribute('data-machine-panel') !== machine;
    });
  }

  function tracePath(record) {
    var chart = charts.filter(function (c) { return c.machine === 'delivery'; })[0];
    if (!chart) return;
    var states = record ? record.path.map(function (step) { return step.state; }) : [];
    chart.states.forEach(function (state) {
      state.group.classList.toggle('in-path', states.indexOf(state.path) >= 0);
    });
    chart.edges.forEach(function (edge) {
      var on = false;
      for (var i = 1; i < states.length; i++) {
        if (states[i - 1] === edge.from && states[i] === edge.to) on = true;
      }
      edge.edge.classList.toggle('in-path', on);
    });
  }

  document.querySelector('.tabs').addEventListener('click', function (event) {
    var tab = event.target.closest('.tab');
    if (tab) showTab(tab.getAttribute('data-tab'));
  });

  list.addEventListener('click', function (event) {
    var item = event.target.closest('.message');
    if (!item) return;
    var seq = Number(item.getAttribute('data-seq'));
    selected = selected === seq ? null : seq;
    showTab('delivery');
    tracePath(selected === null ? null : records.get(seq));
    listDirty = true;
    renderList();
  });

  search.addEventListener('input', function () {
    query = search.value.trim().toLowerCase();
    listDirty = true;
    renderList();
  });

  pause.addEventListener('change', function () {
    paused = pause.checked;
    if (!paused) queueRender();
  });

  var initial = new URLSearchParams(location.search).get('q');
  if (initial) {
    search.value = initial;
    query = initial.trim().toLowerCase();
  }

  var source = new EventSource('/viz/events');
  source.addEventListener('snapshot', function (event) {
    merge(JSON.parse(event.data));
    setConnected(true);
  });
  source.addEventListener('update', function (event) {
    merge(JSON.parse(event.data));
  });
  source.addEventListener('error', function () {
    setConnected(false);
  });
})();
`;
