/**
 * Everything that observes the machines of one running system, made in one place: one decoder of XState's
 * inspection events (`decoder.ts`) and its three listeners, the live monitor (`/viz`), the metrics
 * (`/metrics`) and the log. The log, `/viz` and `/metrics` are three views of one stream. Each delivery and
 * each consumer is named, in all three, by the service and the consumer it belongs to.
 */
import { createDecoder, type Inspector, type ObservedConsumer } from './decoder.js';
import { LogWriter } from './log-writer.js';
import type { Logger } from './logger.js';
import { RuntimeMetrics } from './metrics.js';
import { LiveMonitor } from './viz/live-monitor.js';

export type { DeliveryDescriber, Inspector, ObservedConsumer } from './decoder.js';

export interface ObserversOptions {
  readonly logger: Logger;
  /** Every consumer the system runs, by the queue it consumes. */
  readonly consumers: ReadonlyMap<string, ObservedConsumer>;
  /** Node's default process metrics in the registry (default true). */
  readonly processMetrics?: boolean;
}

export interface Observers {
  /** The inspection hook: give it to `createActor({ inspect })` of the supervisor and of every delivery. */
  readonly inspect: Inspector;
  readonly metrics: RuntimeMetrics;
  readonly monitor: LiveMonitor;
}

export function createObservers({ logger, consumers, processMetrics = true }: ObserversOptions): Observers {
  const metrics = new RuntimeMetrics({ consumers, processMetrics });
  const monitor = new LiveMonitor();
  // The views first, the log line last, as each event's order has always been.
  const inspect = createDecoder({ consumers, listeners: [monitor, metrics, new LogWriter(logger)] });
  return { inspect, metrics, monitor };
}
