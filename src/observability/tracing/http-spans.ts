/**
 * A server span per request to a service's route (HTTP semantic conventions: `POST /users`, method,
 * route, status code), continuing the trace of an incoming `traceparent`, and active while the route's
 * handler runs: a transaction the handler starts, and the messages it publishes, are in that trace.
 * The runtime's own routes (probes, metrics, `/viz`) and requests that match no route are not traced.
 */
import {
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { describeError } from '../../policies/describe-error.js';
import { redact } from '../../redact.js';
import { httpSpanName, isRuntimeRoute } from './names.js';

interface TracedRequest {
  readonly span: Span;
  readonly context: Context;
  error: string | undefined;
}

function requestAttributes(request: FastifyRequest, route: string): Attributes {
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_HTTP_ROUTE]: route,
    [ATTR_URL_PATH]: request.url.split('?', 1)[0],
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_SERVER_ADDRESS]: request.hostname,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.raw.httpVersion,
    [ATTR_CLIENT_ADDRESS]: request.ip,
  };
  if (request.port !== null) attributes[ATTR_SERVER_PORT] = request.port;
  const agent = request.headers['user-agent'];
  if (agent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = agent;
  return attributes;
}

/** Adds the hooks; the handlers of the routes added after this call run in their request's span. */
export function traceRoutes(app: FastifyInstance, tracer: Tracer, propagator: TextMapPropagator): void {
  const requests = new WeakMap<FastifyRequest, TracedRequest>();

  const end = (request: FastifyRequest, status: number | undefined) => {
    const traced = requests.get(request);
    if (traced === undefined) return;
    requests.delete(request);
    const { span } = traced;
    if (status === undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client aborted the request' });
      span.setAttribute(ATTR_ERROR_TYPE, 'aborted');
    } else {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR, ...(traced.error !== undefined && { message: traced.error }) });
        span.setAttribute(ATTR_ERROR_TYPE, String(status));
      }
    }
    span.end();
  };

  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && !isRuntimeRoute(route)) {
      const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
      const span = tracer.startSpan(
        httpSpanName(request.method, route),
        { kind: SpanKind.SERVER, attributes: requestAttributes(request, route) },
        parent,
      );
      requests.set(request, { span, context: trace.setSpan(parent, span), error: undefined });
    }
    done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    const traced = requests.get(request);
    if (traced !== undefined) traced.error = redact(describeError(error));
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    end(request, undefined);
    done();
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (
      this: FastifyInstance,
      request: FastifyRequest,
      reply: FastifyReply,
    ) => ReturnType<RouteHandlerMethod>;
    route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const traced = requests.get(request);
      if (traced === undefined) return handler.call(this, request, reply);
      return context.with(traced.context, handler, this, request, reply);
    };
  });
}
