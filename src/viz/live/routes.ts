/**
 * The visualizer's HTTP routes, on the process's own HTTP server:
 *
 *   GET /viz                       the live page
 *   GET /viz/app.js, /viz/app.css  its script and style
 *   GET /viz/machines.json         every machine: chart (states, transitions), XState definition, states list
 *   GET /viz/machines/<id>.svg     one machine's picture (as `npm run viz` writes it)
 *   GET /viz/machines/<id>.json    one machine's entry of machines.json
 *   GET /viz/state.json[?q=text]   the live counts and the recent deliveries (filtered by `q`)
 *   GET /viz/events                Server-Sent Events: a `snapshot`, then an `update` at most every 250 ms
 *
 * The pictures are laid out once, on first use (about a second of CPU for all five); the descriptions need
 * no layout.
 */
import type { FastifyInstance } from 'fastify';
import { runtimeMachines, type MachineEntry } from '../charts/machines.js';
import { describeMachine, renderMachines, type DescribedMachine } from '../charts/render.js';
import { loadBrowserScript } from './browser-script.js';
import { vizStyle } from './style.js';
import { VizEventStream } from './event-stream.js';
import type { LiveMonitor } from './live-monitor.js';
import { vizPage } from './page.js';

export interface VizRoutesOptions {
  readonly monitor: LiveMonitor;
  readonly machines?: readonly MachineEntry[];
  /** How often the event stream sends an update at most. */
  readonly intervalMs?: number;
}

const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  // The inline charts carry their own <style>.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A promise made on first use and kept, unless it failed (then the next use tries again). */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    });
    return made;
  };
}

const withPictureLink = (machine: DescribedMachine) => ({
  ...machine,
  svg: `/viz/machines/${encodeURIComponent(machine.id)}.svg`,
});

export function registerVizRoutes(
  app: FastifyInstance,
  { monitor, machines = runtimeMachines, intervalMs }: VizRoutesOptions,
): VizEventStream {
  const stream = new VizEventStream(monitor, intervalMs === undefined ? {} : { intervalMs });
  const described = machines.map((machine) => withPictureLink(describeMachine(machine)));
  const live = once(() => renderMachines(machines, { live: true }));
  const plain = once(() => renderMachines(machines));
  const script = once(loadBrowserScript);

  // Open event streams would keep the server from closing.
  app.addHook('preClose', async () => stream.close());

  app.get('/viz', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', contentSecurityPolicy)
      .send(vizPage(await live(), { capacity: monitor.recent.capacity })),
  );
  app.get('/viz/app.js', async (_request, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await script()),
  );
  app.get('/viz/app.css', async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(vizStyle),
  );
  app.get('/viz/machines.json', async () => ({ machines: described }));
  app.get<{ Params: { file: string } }>('/viz/machines/:file', async (request, reply) => {
    const match = /^(.+)\.(svg|json)$/.exec(request.params.file);
    const machine = described.find((candidate) => candidate.id === match?.[1]);
    if (!match || !machine) return reply.code(404).send({ error: `no machine ${request.params.file}` });
    if (match[2] === 'json') return machine;
    const picture = (await plain()).find((candidate) => candidate.id === machine.id)!;
    return reply.type('image/svg+xml; charset=utf-8').send(picture.svg);
  });
  app.get<{ Querystring: { q?: string } }>('/viz/state.json', async (request) => {
    const query = typeof request.query.q === 'string' ? request.query.q : '';
    return {
      version: monitor.version,
      stats: monitor.stats(),
      deliveries: query ? monitor.recent.search(query) : monitor.recent.list(),
    };
  });
  app.get('/viz/events', (request, reply) => {
    reply.hijack();
    request.raw.socket.setNoDelay(true);
    stream.attach(reply.raw);
  });
  return stream;
}
