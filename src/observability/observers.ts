/**
 * Everything that observes the machines of one running system, made in one place: one decoder of XState's
 * inspection events (`decoder.ts`) and its listeners: the live monitor (`/viz`), the metrics (`/metrics`),
 * the log, and when tracing is on the deliveries' spans. They are views of one stream. Each delivery and
 * each consumer is named, in all of them, by the service and the consumer it belongs to.
 */
import { createDecoder } from './decoder.js';
import { type Inspector, type ObservationListener, type ObservedConsumer } from './observation.js';
import { LogWriter } from './log-writer.js';
import type { Logger } from './logger.js';
import { RuntimeMetrics } from './metrics.js';
import { LiveMonitor } from '../viz/live/live-monitor.js';

export type { DeliveryDescriber, Inspector, ObservedConsumer } from './observation.js';

export interface ObserversOptions {
  readonly logger: Logger;
  /** Every consumer the system runs, by the queue it consumes. */
  readonly consumers: ReadonlyMap<string, ObservedConsumer>;
  /** Node's default process metrics in the registry (default true). */
  readonly processMetrics?: boolean;
  /** When tracing is on: the listener that builds the deliveries' spans. */
  readonly tracing?: ObservationListener | undefined;
}

export interface Observers {
  /** The inspection hook: give it to `createActor({ inspect })` of the supervisor and of every delivery. */
  readonly inspect: Inspector;
  readonly metrics: RuntimeMetrics;
  readonly monitor: LiveMonitor;
}

export function createObservers({ logger, consumers, processMetrics = true, tracing }: ObserversOptions): Observers {
  const metrics = new RuntimeMetrics({ consumers, processMetrics });
  const monitor = new LiveMonitor();
  // The views first, the log line last, as each event's order has always been.
  const views = tracing === undefined ? [monitor, metrics] : [monitor, metrics, tracing];
  const inspect = createDecoder({ consumers, listeners: [...views, new LogWriter(logger)] });
  return { inspect, metrics, monitor };
}
