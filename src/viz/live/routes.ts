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
 * and, for the durable actors the runtime passes (`actor-routes.ts`):
 *
 *   GET /viz/actors.json                         each actor: name, service, picture, instances by state now
 *   GET /viz/actors/<name>.svg                   one actor's picture
 *   GET /viz/actors/<name>/instances/<id>.json   one instance's row and its path (its history, bounded)
 *
 * The page polls the actors' counts every 2 s while it is open; the server reads them at most once a
 * second, each read bounded by a timeout, and a database that does not answer is an error on the page.
 *
 * The pictures are laid out once, on first use (about a second of CPU for all five); the descriptions need
 * no layout.
 */
import type { FastifyInstance } from 'fastify';
import { runtimeMachines, type MachineEntry } from '../charts/machines.js';
import { describeMachine, renderMachines, type DescribedMachine } from '../charts/render.js';
import { registerActorRoutes } from './actor-routes.js';
import { actorChartEntry, type ActorView } from './actor-views.js';
import { loadBrowserScript } from './browser-script.js';
import { vizStyle } from './style.js';
import { VizEventStream } from './event-stream.js';
import type { LiveMonitor } from './live-monitor.js';
import { vizPage } from './page.js';

export interface VizRoutesOptions {
  readonly monitor: LiveMonitor;
  readonly machines?: readonly MachineEntry[];
  /** The durable actors whose charts and instances the page shows. */
  readonly actors?: readonly ActorView[];
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
  { monitor, machines = runtimeMachines, actors = [], intervalMs }: VizRoutesOptions,
): VizEventStream {
  const stream = new VizEventStream(monitor, intervalMs === undefined ? {} : { intervalMs });
  const described = machines.map((machine) => withPictureLink(describeMachine(machine)));
  const live = once(() => renderMachines(machines, { live: true }));
  const plain = once(() => renderMachines(machines));
  const script = once(loadBrowserScript);
  const actorEntries = actors.map(actorChartEntry);
  const actorsLive = once(() => renderMachines(actorEntries, { live: true }));
  const actorsPlain = once(() => renderMachines(actorEntries));

  // Open event streams would keep the server from closing.
  app.addHook('preClose', async () => stream.close());

  app.get('/viz', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', contentSecurityPolicy)
      .send(vizPage(await live(), { capacity: monitor.recent.capacity, actors: await actorsLive() })),
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
  registerActorRoutes(app, actors, actorsPlain);
  app.get('/viz/events', (request, reply) => {
    reply.hijack();
    request.raw.socket.setNoDelay(true);
    stream.attach(reply.raw);
  });
  return stream;
}
