/**
 * The durable actors' routes of the visualizer (see `routes.ts`): their counts by state, read at most once a
 * second whatever the number of pages polling, each actor's picture, and one instance's path.
 */
import type { FastifyInstance } from 'fastify';
import { describeError } from '../../policies/describe-error.js';
import type { RenderedMachine } from '../charts/render.js';
import { readActorCounts, readInstancePath, type ActorView } from './actor-views.js';
import type { ActorCounts } from './payload.js';

/** How long one read of the counts serves every page asking. */
const countsFreshMs = 1_000;

/** The counts of every actor, shared by the requests of one second. */
function sharedCounts(actors: readonly ActorView[]): () => Promise<readonly ActorCounts[]> {
  let last: { at: number; counts: Promise<readonly ActorCounts[]> } | undefined;
  return () => {
    if (!last || Date.now() - last.at >= countsFreshMs) {
      last = { at: Date.now(), counts: Promise.all(actors.map((actor) => readActorCounts(actor))) };
    }
    return last.counts;
  };
}

/**
 * Why `id` is not an instance id the route looks up, or undefined. A longer one than the router takes
 * (Fastify's `maxParamLength`, 100 characters) is refused before this, with 414.
 */
export function instanceIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'the instance id is empty';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'the instance id holds a control character';
  return undefined;
}

/** Registers `/viz/actors.json`, `/viz/actors/<name>.svg` and `/viz/actors/<name>/instances/<id>.json`. */
export function registerActorRoutes(
  app: FastifyInstance,
  actors: readonly ActorView[],
  pictures: () => Promise<readonly RenderedMachine[]>,
): void {
  const counts = sharedCounts(actors);
  const byName = new Map(actors.map((actor) => [actor.name, actor]));

  app.get('/viz/actors.json', async () => ({
    actors: (await counts()).map((each) => ({ ...each, svg: `/viz/actors/${encodeURIComponent(each.name)}.svg` })),
  }));
  app.get<{ Params: { file: string } }>('/viz/actors/:file', async (request, reply) => {
    const name = /^(.+)\.svg$/.exec(request.params.file)?.[1];
    if (name === undefined || !byName.has(name)) {
      return reply.code(404).send({ error: `no actor picture ${request.params.file}` });
    }
    const picture = (await pictures()).find((candidate) => candidate.id === name)!;
    return reply.type('image/svg+xml; charset=utf-8').send(picture.svg);
  });
  app.get<{ Params: { name: string; file: string } }>('/viz/actors/:name/instances/:file', async (request, reply) => {
    const { name, file } = request.params;
    const actor = byName.get(name);
    if (!actor) return reply.code(404).send({ error: `no actor ${name}` });
    if (!file.endsWith('.json')) return reply.code(404).send({ error: `no ${file}: ask for <id>.json` });
    const id = file.slice(0, -'.json'.length);
    const problem = instanceIdProblem(id);
    if (problem) return reply.code(400).send({ error: problem });
    try {
      const found = await readInstancePath(actor, id);
      return found ?? reply.code(404).send({ error: `${name} has no instance ${id}` });
    } catch (error) {
      return reply.code(503).send({ error: describeError(error) });
    }
  });
}
