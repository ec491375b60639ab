/**
 * The HTTP surface: liveness, readiness and the services' routes, on fastify (which parses JSON, enforces
 * the body limit before buffering past it, and answers malformed bodies with a 400). Every error is JSON
 * with a reason; a 5xx never shows internals.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { classifyError } from '../policies/classify-error.js';
import { describeError } from '../policies/describe-error.js';
import { redact } from '../redact.js';

/**
 * What GET /readyz answers (`Runtime.readiness()`): `ready` when every check passes, and each check by name
 * (`broker`, `publisher`, `supervisor`, `<service>.database`, `<service>.consumer`) with its state.
 */
export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, string>;
}

export interface HttpServerOptions {
  readonly bodyLimit: number;
  readonly readiness: () => Promise<Readiness>;
  readonly onServerError?: (error: unknown) => void;
}

export function createHttpServer({ bodyLimit, readiness, onServerError }: HttpServerOptions): FastifyInstance {
  const app = Fastify({ bodyLimit, logger: false, return503OnClosing: true });

  app.setErrorHandler((error: unknown, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ error: redact(describeError(error).replace(/ \(FST_[A-Z_]+\)$/, '')) });
    }
    if (classifyError(error).kind === 'unavailable') {
      return reply.code(503).send({ error: 'a dependency is unavailable; try again shortly' });
    }
    onServerError?.(error);
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route for ${request.method} ${request.url}` }),
  );

  app.get('/healthz', async () => ({ status: 'alive' }));
  app.get('/readyz', async (_request, reply) => {
    const state = await readiness().catch((error: unknown) => ({
      ready: false,
      checks: { readiness: redact(describeError(error)) },
    }));
    return reply
      .code(state.ready ? 200 : 503)
      .send({ status: state.ready ? 'ready' : 'not ready', checks: state.checks });
  });
  return app;
}
