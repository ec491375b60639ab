/** `/viz/app.css`: the live page's style (served by the process itself). */
export const vizStyle = `
* { box-sizing: border-box; }
html, body { height: 100%; }
body {
  margin: 0; display: flex; flex-direction: column; color: #0f172a; background: #f1f5f9;
  font: 13px/1.4 Helvetica, Arial, 'Liberation Sans', sans-serif;
}
code { font-family: ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; }
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 8px 16px;
  background: #0f172a; color: #e2e8f0;
}
header h1 { margin: 0; font-size: 16px; }
header .subtitle { font-weight: normal; color: #94a3b8; }
#stream-status { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #7f1d1d; }
#stream-status[data-connected="true"] { background: #14532d; }
#actors { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none; }
#actors li { padding: 2px 8px; border-radius: 10px; background: #1e293b; font-size: 12px; }
#actors li b { color: #fff; }
#actors li.state-warn b { color: #fbbf24; }
#actors li.state-bad b { color: #f87171; }
#totals { margin-left: auto; font-size: 12px; color: #cbd5e1; }
main {
  flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 1fr) minmax(360px, 38%);
  gap: 10px; padding: 10px;
}
#charts, #messages {
  display: flex; flex-direction: column; min-height: 0; background: #fff;
  border: 1px solid #e2e8f0; border-radius: 8px;
}
.tabs { display: flex; flex-wrap: wrap; gap: 2px; padding: 6px 6px 0; border-bottom: 1px solid #e2e8f0; }
.tab {
  border: 1px solid transparent; border-bottom: none; background: none; padding: 6px 10px; cursor: pointer;
  border-radius: 6px 6px 0 0; font: inherit; color: #475569;
}
.tab[aria-selected="true"] { background: #fff; border-color: #e2e8f0; color: #0f172a; font-weight: bold; margin-bottom: -1px; }
.tab-badge:not(:empty) { margin-left: 6px; padding: 0 6px; border-radius: 8px; background: #fef3c7; color: #92400e; font-size: 11px; }
.chart-panel { flex: 1; min-height: 0; overflow: auto; padding: 8px 12px; }
.chart-panel[hidden] { display: none; }
.chart-summary { margin: 0 0 6px; color: #334155; }
.chart-source { color: #64748b; font-size: 12px; }
.chart svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.chart svg .state.was-entered > rect { stroke: #334155; }
.chart svg .state.is-active > rect { fill: #fef3c7; stroke: #d97706; stroke-width: 2.5; }
.chart svg .state.in-path > rect { stroke: #2563eb; stroke-width: 3; }
.chart svg .edge.is-taken path { stroke: #1e293b; stroke-width: 1.8; }
.chart svg .edge.in-path path { stroke: #2563eb; stroke-width: 2.6; }
.chart svg .edge.in-path .edge-label text { fill: #1d4ed8; font-weight: bold; }
.legend { margin: 0; padding: 6px 12px; border-top: 1px solid #e2e8f0; color: #64748b; font-size: 12px; }
.messages-head { display: flex; align-items: center; gap: 8px; padding: 8px 10px 4px; }
.messages-head h2 { margin: 0; font-size: 14px; white-space: nowrap; }
#search { flex: 1; min-width: 0; padding: 4px 8px; border: 1px solid #cbd5e1; border-radius: 6px; font: inherit; }
.pause { white-space: nowrap; color: #475569; }
#message-count { margin: 0; padding: 0 10px 4px; color: #64748b; font-size: 12px; }
#message-list { flex: 1; min-height: 0; overflow: auto; margin: 0; padding: 0 6px 6px; list-style: none; }
.message { padding: 6px 8px; margin: 4px 0; border: 1px solid #e2e8f0; border-left: 4px solid #94a3b8; border-radius: 6px; cursor: pointer; }
.message:hover { background: #f8fafc; }
.message.selected { background: #eff6ff; border-color: #93c5fd; }
.message.outcome-acked { border-left-color: #16a34a; }
.message.outcome-duplicate { border-left-color: #0891b2; }
.message.outcome-retried { border-left-color: #d97706; }
.message.outcome-delayed { border-left-color: #7c3aed; }
.message.outcome-dead-lettered, .message.outcome-machine-error { border-left-color: #dc2626; }
.message-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 2px 8px; }
.message-head .outcome { font-weight: bold; }
.message-head .meta { color: #64748b; font-size: 12px; }
.message-id { word-break: break-all; }
.message-path { margin-top: 2px; color: #334155; }
.message-path .step small { color: #64748b; }
.message-path .arrow { color: #94a3b8; margin: 0 3px; }
.message-ids, .message-error, .message-dead { margin-top: 2px; font-size: 12px; word-break: break-word; }
.message-ids { color: #475569; }
.message-error { color: #b45309; }
.message-dead { color: #b91c1c; }
.actor-status { margin: 0 0 6px; color: #475569; font-size: 12px; }
.actor-status[data-error="true"] { color: #b91c1c; }
.instance-form { display: flex; gap: 6px; margin: 0 0 6px; }
.instance-form input { flex: 1; max-width: 360px; padding: 4px 8px; border: 1px solid #cbd5e1; border-radius: 6px; font: inherit; }
.chart svg .state.is-current > rect { stroke: #1d4ed8; stroke-width: 4; }
.instance-head { margin: 6px 0 2px; }
.instance-steps { margin: 0; padding-left: 22px; }
.instance-step .meta { color: #64748b; font-size: 12px; }
`;
