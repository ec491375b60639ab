/**
 * OpenTelemetry traces, off unless the standard `OTEL_*` variables ask for them (`settings.ts`). Off, the
 * runtime holds no `Tracing`: nothing here loads the SDK (it is imported only when tracing is on), no
 * span is made and no trace header is written.
 *
 * On, deliveries are traced as every other view of the machines is: by a listener of the inspection
 * stream (`delivery-spans.ts`), a span per delivery with its states as span events. The few places where
 * a trace context must cross a boundary have explicit hooks, each taking an optional `Tracing`:
 *
 * - the HTTP server (`traceRoutes`): a span per request to a service's route, active while its handler runs;
 * - a transaction (`routeTransaction` for a route's, `deliveryTransaction` for a delivery's): each message
 *   published in it gets a `create` span, whose context goes into the message's headers (`traceparent`,
 *   `tracestate`) in its outbox row, so that whenever the row is published, it continues that trace;
 * - the outbox (`publishing`): a span per publish of a row, in the trace its headers carry.
 */
import type { FastifyInstance } from 'fastify';
import type { Delivery } from '../../machines/delivery.js';
import type { ObservationListener } from '../observation.js';
import type { Logger } from '../logger.js';
import { describeError } from '../../policies/describe-error.js';
import { redact } from '../../redact.js';
import { tracingSettings } from './settings.js';

declare const scopeBrand: unique symbol;
/** Where code runs in a trace (an OpenTelemetry context), opaque outside the tracer. */
export interface TraceScope {
  readonly [scopeBrand]: true;
}

/** The trace of one transaction: messages published in it continue it. */
export interface TransactionTrace {
  /** The trace headers of a message published in this transaction (a `create` span is made for it). */
  headersFor(exchange: string, routingKey: string, messageId: string): Record<string, string>;
  /** Runs `work` with the transaction's span active, so that spans the service makes are its children. */
  run<T>(work: () => T): T;
}

/** A route's transaction: ended by the code that committed it (or failed to). */
export interface RouteTransactionTrace extends TransactionTrace {
  end(error?: unknown): void;
}

/** What is published, as the outbox knows it. */
export interface PublishedRow {
  readonly id: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly headers: Readonly<Record<string, unknown>> | null;
  readonly attempts?: number;
}

export interface Tracing {
  /** Builds the deliveries' spans from the inspection stream. */
  readonly listener: ObservationListener;
  /** Spans for the routes added after this call, except the runtime's own (probes, metrics, `/viz`). */
  traceRoutes(app: FastifyInstance): void;
  /** The scope of the code running now: a route handler's request. */
  current(): TraceScope | undefined;
  /** A route's transaction: a child of its request, or (a group commit of several) linked to each. */
  routeTransaction(service: string, parents: readonly (TraceScope | undefined)[]): RouteTransactionTrace;
  /** The transaction of a delivery (or batch) as the listener follows it; undefined if it does not. */
  deliveryTransaction(deliveries: readonly Delivery[]): TransactionTrace | undefined;
  /** Starts the span of one publish of an outbox row; the returned function ends it. */
  publishing(row: PublishedRow, relayed: boolean): (error?: unknown) => void;
  /** Ends tracing: the spans not yet exported are sent, within `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<void>;
}

export interface StartTracingOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The runtime's services: the default `service.name` when neither `OTEL_SERVICE_NAME` nor the resource sets one. */
  readonly services: readonly string[];
  readonly logger: Logger;
}

/**
 * Starts tracing when the environment asks for it; otherwise (or when it cannot start, which it logs)
 * returns undefined without loading the SDK.
 */
export async function startTracing({ env, services, logger }: StartTracingOptions): Promise<Tracing | undefined> {
  const settings = tracingSettings(env);
  for (const problem of settings.problems) logger.warn('tracing setting ignored', { problem });
  if (!settings.on) return undefined;
  try {
    const { createTracing } = await import('./otel.js');
    const tracing = await createTracing({ settings, services });
    logger.info('tracing on', { exporters: settings.exporters, protocol: settings.protocol });
    return tracing;
  } catch (error) {
    // Traces are a view: a service whose exporter cannot be set up still runs, untraced, and says so.
    logger.error('tracing off: it could not start', { error: redact(describeError(error)) });
    return undefined;
  }
}
