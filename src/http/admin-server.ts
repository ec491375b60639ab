/**
 * The admin surface (the visualizer and /metrics) on an HTTP server of its own, when ADMIN_PORT
 * separates it from the API. It serves read-only routes only: GET (and fastify's implied HEAD).
 */
import Fastify, { type FastifyInstance } from 'fastify';

export function createAdminServer(onServerError?: (error: unknown) => void): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true });
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.some((method) => method !== 'GET' && method !== 'HEAD')) {
      throw new Error(`the admin server is read-only: ${methods.join(',')} ${route.url} refused`);
    }
  });
  app.setErrorHandler((error: unknown, _request, reply) => {
    onServerError?.(error);
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route for ${request.method} ${request.url}` }),
  );
  return app;
}
