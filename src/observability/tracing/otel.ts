/**
 * Tracing on: the OpenTelemetry SDK, loaded only when the environment asks for traces (`tracing.ts`
 * imports this module dynamically). A Node tracer provider with a batching processor per exporter (OTLP
 * over HTTP, as protobuf or JSON, or the console), registered as the process's global provider so that
 * the spans a service makes with `@opentelemetry/api` join the runtime's traces. When the process has
 * registered a provider of its own first, the runtime's spans go to that one instead.
 */
import {
  context,
  defaultTextMapSetter,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Delivery } from '../../machines/delivery.js';
import { describeError } from '../../policies/describe-error.js';
import { redact } from '../../redact.js';
import { withTimeout } from '../../with-timeout.js';
import { DeliverySpans, headerContext } from './delivery-spans.js';
import { traceRoutes } from './http-spans.js';
import { ackstate, destinationLabel, messageAttributes, spanName } from './names.js';
import type { TracingSettings } from './settings.js';
import type { PublishedRow, RouteTransactionTrace, TraceScope, Tracing, TransactionTrace } from './tracing.js';

export interface CreateTracingOptions {
  readonly settings: Extract<TracingSettings, { on: true }>;
  readonly services: readonly string[];
}

async function exporterOf(kind: 'otlp' | 'console', protocol: string): Promise<SpanExporter> {
  if (kind === 'console') return new ConsoleSpanExporter();
  if (protocol === 'http/json')
    return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

function resourceOf(services: readonly string[]) {
  // Later resources win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES over the runtime's services.
  return defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: services.join('+') || 'ackstate' }))
    .merge(detectResources({ detectors: [envDetector] }));
}

/** Registers the provider as the global one; false when another provider was registered first. */
function registered(provider: NodeTracerProvider): boolean {
  provider.register();
  const global = trace.getTracerProvider();
  return global instanceof ProxyTracerProvider && global.getDelegate() === provider;
}

const asScope = (value: Context) => value as unknown as TraceScope;
const asContext = (scope: TraceScope) => scope as unknown as Context;

export async function createTracing({ settings, services }: CreateTracingOptions): Promise<Tracing> {
  const exporters = await Promise.all(settings.exporters.map((kind) => exporterOf(kind, settings.protocol)));
  const provider = new NodeTracerProvider({
    resource: resourceOf(services),
    spanProcessors: exporters.map((exporter) => new BatchSpanProcessor(exporter)),
  });
  const owned = registered(provider);
  if (!owned) await provider.shutdown();
  const tracer: Tracer = owned ? provider.getTracer('ackstate') : trace.getTracer('ackstate');
  const propagator = new W3CTraceContextPropagator();

  const contextOf = headerContext(propagator);
  const deliveries = new DeliverySpans(tracer, contextOf);

  const transactionTrace = (scope: Context): TransactionTrace => ({
    headersFor(exchange, routingKey, messageId) {
      const span = tracer.startSpan(
        spanName('create', destinationLabel(exchange, routingKey)),
        { kind: SpanKind.PRODUCER, attributes: messageAttributes('create', exchange, routingKey, messageId) },
        scope,
      );
      span.end();
      const headers: Record<string, string> = {};
      propagator.inject(trace.setSpan(scope, span), headers, defaultTextMapSetter);
      return headers;
    },
    run: (work) => context.with(scope, work),
  });

  return {
    listener: deliveries,
    traceRoutes: (app) => traceRoutes(app, tracer, propagator),
    current() {
      const active = context.active();
      return trace.getSpan(active) === undefined ? undefined : asScope(active);
    },
    routeTransaction(service, parents): RouteTransactionTrace {
      const scopes = parents.filter((each): each is TraceScope => each !== undefined).map(asContext);
      const single = parents.length === 1 ? scopes[0] : undefined;
      const links: Link[] = [];
      if (single === undefined) {
        for (const scope of scopes) {
          const spanContext = trace.getSpanContext(scope);
          if (spanContext !== undefined) links.push({ context: spanContext });
        }
      }
      const parent = single ?? ROOT_CONTEXT;
      const span = tracer.startSpan(
        spanName('transaction', service),
        {
          kind: SpanKind.INTERNAL,
          attributes: { 'db.system.name': 'postgresql', [ackstate.service]: service },
          ...(links.length > 0 && { links }),
        },
        parent,
      );
      return {
        ...transactionTrace(trace.setSpan(parent, span)),
        end(error) {
          if (error !== undefined)
            span.setStatus({ code: SpanStatusCode.ERROR, message: redact(describeError(error)) });
          span.end();
        },
      };
    },
    deliveryTransaction(of: readonly Delivery[]) {
      const scope = deliveries.transactionOf(of);
      return scope === undefined ? undefined : transactionTrace(scope);
    },
    publishing(row: PublishedRow, relayed: boolean) {
      const parent = row.headers === null ? undefined : contextOf(row.headers);
      // A row written while tracing was off carries no trace to continue: its publish is not traced.
      if (parent === undefined) return () => {};
      const span = tracer.startSpan(
        spanName('publish', destinationLabel(row.exchange, row.routingKey)),
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...messageAttributes('publish', row.exchange, row.routingKey, row.id),
            [ackstate.relayed]: relayed,
            ...(row.attempts !== undefined && { [ackstate.outboxAttempts]: row.attempts }),
          },
        },
        parent,
      );
      return (error) => {
        if (error !== undefined) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: redact(describeError(error)) });
          span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
        }
        span.end();
      };
    },
    async shutdown(timeoutMs) {
      if (!owned) return;
      await withTimeout(provider.shutdown(), timeoutMs, 'exporting the last spans').catch(() => {});
      // Registered no more: a runtime started later in this process registers its own.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
