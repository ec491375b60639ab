/**
 * The open-loop load, a process of its own so that its CPU is measured apart from the bench: one
 * POST /users every 1/rate seconds on a precomputed schedule, whatever the answers, over keep-alive
 * node:http connections. Each email carries the request's scheduled time (wall clock, microseconds), so a
 * request sent late, or held back behind a slow answer, still counts its latency from when it was due.
 * Usage: node main.js URL RATE USERS LABEL. Prints one JSON line: statuses, errors, CPU, how late sends were.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, rateText, usersText, label] = process.argv.slice(2);
const rate = Number(rateText);
const users = Number(usersText);
if (!url || !label || !(rate > 0) || !(users > 0)) {
  process.stderr.write('usage: main.js URL RATE USERS LABEL\n');
  process.exit(2);
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL('/users', url);
const statuses: Record<string, number> = {};
let errors = 0;
let answered = 0;
let latestLateMs = 0;

function post(index: number, scheduledWallMicros: number): void {
  const body = `{"name":"Bench User","email":"${label}-0-${index}-${scheduledWallMicros}@example.com"}`;
  const outgoing = request(target, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    timeout: 60_000,
  });
  outgoing.on('response', (response) => {
    statuses[response.statusCode ?? 0] = (statuses[response.statusCode ?? 0] ?? 0) + 1;
    response.resume();
    response.on('end', settle);
  });
  outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
  outgoing.on('error', () => {
    errors += 1;
    settle();
  });
  outgoing.end(body);
}

let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => (finish = resolve));
function settle(): void {
  answered += 1;
  if (answered === users) finish();
}

const cpuBefore = process.cpuUsage();
const startedAt = performance.now() + 20;
const intervalMs = 1000 / rate;
let next = 0;
function sendDue(): void {
  const now = performance.now();
  while (next < users && startedAt + next * intervalMs <= now) {
    const scheduledAt = startedAt + next * intervalMs;
    latestLateMs = Math.max(latestLateMs, now - scheduledAt);
    post(next, Math.round((performance.timeOrigin + scheduledAt) * 1000));
    next += 1;
  }
  if (next < users) setTimeout(sendDue, Math.max(0, startedAt + next * intervalMs - performance.now()));
}
setTimeout(sendDue, 20);
await finished;
const cpu = process.cpuUsage(cpuBefore);
agent.destroy();
process.stdout.write(
  `${JSON.stringify({ statuses, errors, cpuSeconds: (cpu.user + cpu.system) / 1e6, latestSendLateMs: latestLateMs })}\n`,
);
