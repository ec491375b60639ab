/**
 * Prometheus metrics of one running system, in a registry of its own (never prom-client's global one, so
 * that several systems in one process keep apart). The machine-driven series come from the inspection
 * stream: `observe` is one more of the inspector's listeners. It runs on every snapshot of every delivery,
 * so it keeps one record per actor, looks label sets up once and observes into cells that allocate nothing.
 * The scrape-time values (outbox backlog, queue depths) are read by probes just before each scrape.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import { CellCountCounter, CellHistogram, type HistogramCell } from './metrics-histogram.js';
import { outcomeAt, type DeliveryContext } from '../../machines/delivery.js';
import { machineId, stateName } from './inspector.js';
import { NotConnectedError, PublishTimeoutError, UnroutableError, type PublishObserver } from '../broker/publisher.js';

export const deliveryOutcomes = ['acked', 'duplicate', 'retried', 'dead-lettered'] as const;

const stateBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600,
];
const deliveryBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const confirmBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The `kind` label of a failed publish. */
export function publishFailureKind(error: Error): 'not_connected' | 'timeout' | 'unroutable' | 'rejected' {
  if (error instanceof NotConnectedError) return 'not_connected';
  if (error instanceof PublishTimeoutError) return 'timeout';
  if (error instanceof UnroutableError) return 'unroutable';
  return 'rejected'; // a nack, or the channel closed before the confirm
}

export interface RuntimeMetricsOptions {
  /** The queues this process consumes: their delivery series exist from the start, at zero. */
  readonly queues?: readonly string[];
  /** Node's default process metrics (CPU, memory, event loop lag, GC), unprefixed. */
  readonly processMetrics?: boolean;
  /** Monotonic milliseconds. */
  readonly now?: () => number;
}

interface SnapshotLike {
  readonly value?: unknown;
  readonly status?: string;
  readonly context?: Record<string, unknown>;
}

type Kind = 'delivery' | 'consumer' | 'connection' | 'supervisor' | 'other';

interface ConsumerCounters {
  readonly pauses: Counter.Internal;
  readonly restarts: Counter.Internal;
}

/** One actor as the metrics follow it: one object per actor, updated in place. */
interface Tracked {
  readonly kind: Kind;
  readonly machine: string;
  /** The cells of time spent in each state of this actor's machine, by state name (shared per machine). */
  readonly states: Map<string, HistogramCell>;
  /** Deliveries' and consumers' queue. */
  readonly queue: string | undefined;
  value: unknown;
  state: string;
  since: number;
  readonly startedAt: number;
  ended: boolean;
  /** Deliveries: this queue's duration cells by outcome. */
  readonly outcomes: Map<string, HistogramCell> | undefined;
  readonly consumer: ConsumerCounters | undefined;
  /** The supervisor: restarts per child, as last seen. */
  restarts: Readonly<Record<string, number>> | undefined;
}

export class RuntimeMetrics {
  readonly registry = new Registry();
  readonly #now: () => number;
  readonly #tracked = new WeakMap<object, Tracked>();
  /** The long-lived actors (not deliveries) by system id, for `ackstate_actor_state`. */
  readonly #named = new Map<string, Tracked>();
  readonly #stateCells = new Map<string, Map<string, HistogramCell>>();
  readonly #deliveryCells = new Map<string, Map<string, HistogramCell>>();
  readonly #consumerCounters = new Map<string, ConsumerCounters>();
  readonly #probes: (() => Promise<void>)[] = [];

  readonly #stateDuration: CellHistogram<'machine' | 'state'>;
  readonly #deliveryDuration: CellHistogram<'queue' | 'outcome'>;
  readonly #confirm: HistogramCell;
  readonly #publishFailures: Counter<'kind'>;
  readonly #pauses: Counter<'queue'>;
  readonly #consumerRestarts: Counter<'queue'>;
  readonly #supervisorRestarts: Counter<'child'>;
  readonly #disconnects: Counter;
  readonly #reconnects: Counter;
  /** Probes count their failures here; a failed probe never fails the scrape. */
  readonly scrapeErrors: Counter<'probe'>;

  constructor({ queues = [], processMetrics = true, now = () => performance.now() }: RuntimeMetricsOptions = {}) {
    this.#now = now;
    const registers = [this.registry];
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
    this.#deliveryDuration = new CellHistogram(this.registry, {
      name: 'ackstate_delivery_duration_seconds',
      help: 'Time from receiving a delivery to its end (acked, nacked for a retry, or dead-lettered and acked), by queue and outcome.',
      labelNames: ['queue', 'outcome'],
      buckets: deliveryBuckets,
    });
    new CellCountCounter(
      this.registry,
      'ackstate_deliveries_total',
      'Deliveries ended, by queue and outcome (acked, duplicate, retried, dead-lettered).',
      this.#deliveryDuration,
    );
    this.#stateDuration = new CellHistogram(this.registry, {
      name: 'ackstate_state_duration_seconds',
      help: 'Time spent in a state of a machine, observed when the state is left (eventless states are not seen).',
      labelNames: ['machine', 'state'],
      buckets: stateBuckets,
    });
    const confirm = new CellHistogram(this.registry, {
      name: 'ackstate_publish_confirm_seconds',
      help: 'Time from a publish to the broker confirming it (confirmed publishes only).',
      labelNames: [],
      buckets: confirmBuckets,
    });
    this.#confirm = confirm.cell({});
    this.#publishFailures = new Counter({
      name: 'ackstate_publish_failures_total',
      help: 'Publishes that failed, by kind: not_connected, timeout (no confirm in time), unroutable (returned), rejected (nacked or channel closed).',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of ['not_connected', 'timeout', 'unroutable', 'rejected'])
      this.#publishFailures.labels(kind).inc(0);
    this.#pauses = new Counter({
      name: 'ackstate_consumer_pauses_total',
      help: 'Times a consumer paused because a dependency (the database or the broker) was unavailable.',
      labelNames: ['queue'],
      registers,
    });
    this.#consumerRestarts = new Counter({
      name: 'ackstate_consumer_restarts_total',
      help: "Times a consumer's subscription was restarted after its channel was lost or could not be opened.",
      labelNames: ['queue'],
      registers,
    });
    this.#supervisorRestarts = new Counter({
      name: 'ackstate_supervisor_restarts_total',
      help: 'Times the supervisor restarted a child that failed, by child.',
      labelNames: ['child'],
      registers,
    });
    this.#disconnects = new Counter({
      name: 'ackstate_broker_disconnects_total',
      help: 'Times the broker connection was lost (or a connection attempt failed).',
      registers,
    });
    this.#reconnects = new Counter({
      name: 'ackstate_broker_reconnects_total',
      help: 'Times the broker connection was established again after a loss.',
      registers,
    });
    this.scrapeErrors = new Counter({
      name: 'ackstate_scrape_errors_total',
      help: 'Scrape-time probes that failed or timed out (their gauges are NaN for that scrape), by probe.',
      labelNames: ['probe'],
      registers,
    });
    const named = this.#named;
    new Gauge({
      name: 'ackstate_actor_state',
      help: 'The current state of each long-lived actor (supervisor, connection, consumers, outbox relays): 1 for the state it is in.',
      labelNames: ['actor', 'state'],
      registers,
      collect() {
        this.reset();
        for (const [actor, tracked] of named) this.labels(actor, tracked.state).set(1);
      },
    });
    for (const queue of queues) {
      this.#outcomeCells(queue);
      this.#countersOf(queue);
    }
  }

  /** Runs before every scrape; it must not throw (count failures in `scrapeErrors`). */
  addProbe(probe: () => Promise<void>): void {
    this.#probes.push(probe);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text, after the probes have refreshed the scrape-time gauges. */
  async scrape(): Promise<string> {
    await Promise.all(this.#probes.map((probe) => probe().catch(() => {})));
    return this.registry.metrics();
  }

  readonly publishes: PublishObserver = {
    confirmed: (seconds) => this.#confirm.observe(seconds),
    failed: (error) => this.#publishFailures.labels(publishFailureKind(error)).inc(),
  };

  /** The inspection listener: only snapshots matter, and only when the state changes or the actor ends. */
  readonly observe = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.snapshot') return;
    const actor = event.actorRef;
    const snapshot = event.snapshot as SnapshotLike;
    const tracked = this.#tracked.get(actor);
    if (tracked === undefined) {
      const begun = this.#begin(actor, snapshot);
      if (begun && snapshot.status !== 'active') this.#end(begun, snapshot);
      return;
    }
    if (tracked.ended) return;
    const value = snapshot.value;
    if (value !== tracked.value) {
      tracked.value = value;
      const state = typeof value === 'string' ? value : stateName(value);
      if (state !== tracked.state) this.#moved(tracked, state);
    }
    if (tracked.kind === 'supervisor') this.#countSupervisorRestarts(tracked, snapshot.context);
    if (snapshot.status !== 'active') this.#end(tracked, snapshot);
  };

  #begin(actor: object, snapshot: SnapshotLike): Tracked | undefined {
    const machine = machineId(actor);
    if (machine === undefined) return undefined;
    const kind: Kind =
      machine === 'delivery' || machine === 'consumer' || machine === 'connection' || machine === 'supervisor'
        ? machine
        : 'other';
    const context = snapshot.context ?? {};
    const queueValue =
      kind === 'delivery'
        ? (context.deliveries as readonly { queue?: unknown }[] | undefined)?.[0]?.queue
        : context.queue;
    const queue = typeof queueValue === 'string' ? queueValue : undefined;
    const now = this.#now();
    let states = this.#stateCells.get(machine);
    if (!states) {
      states = new Map();
      this.#stateCells.set(machine, states);
    }
    const tracked: Tracked = {
      kind,
      machine,
      states,
      queue,
      value: snapshot.value,
      state: stateName(snapshot.value),
      since: now,
      startedAt: now,
      ended: false,
      outcomes: kind === 'delivery' && queue !== undefined ? this.#outcomeCells(queue) : undefined,
      consumer: kind === 'consumer' && queue !== undefined ? this.#countersOf(queue) : undefined,
      restarts: undefined,
    };
    this.#tracked.set(actor, tracked);
    if (kind === 'supervisor') {
      for (const child of (context.children ?? []) as readonly { id: string }[])
        this.#supervisorRestarts.labels(child.id).inc(0);
      this.#countSupervisorRestarts(tracked, context);
    }
    if (kind !== 'delivery') {
      const systemId = (actor as { systemId?: unknown }).systemId;
      this.#named.set(typeof systemId === 'string' ? systemId : machine, tracked);
    }
    return tracked;
  }

  #moved(tracked: Tracked, state: string): void {
    const now = this.#now();
    const left = tracked.state;
    (tracked.states.get(left) ?? this.#stateCell(tracked, left)).observe((now - tracked.since) / 1_000);
    tracked.state = state;
    tracked.since = now;
    if (tracked.consumer) {
      if (state === 'pausing') tracked.consumer.pauses.inc();
      else if (state === 'restarting') tracked.consumer.restarts.inc();
    } else if (tracked.kind === 'connection') {
      if (state === 'reconnecting') this.#disconnects.inc();
      else if (left === 'reconnecting' && state === 'connected') this.#reconnects.inc();
    }
  }

  #end(tracked: Tracked, snapshot: SnapshotLike): void {
    tracked.ended = true;
    if (!tracked.outcomes || snapshot.status === 'stopped') return;
    const context = (snapshot.context ?? {}) as unknown as DeliveryContext;
    // A split batch is counted through the batches of one it handed its deliveries to.
    if (context.outcome === 'split') return;
    // A done snapshot has just entered its final state: `since` is this moment, no need to read the clock.
    const seconds = ((snapshot.status === 'done' ? tracked.since : this.#now()) - tracked.startedAt) / 1_000;
    const count = context.deliveries?.length ?? 1;
    for (let index = 0; index < count; index += 1) {
      // A machine that fails (a bug, not a message failure) ends in `error`; the consumer nacks its messages.
      const outcome = snapshot.status === 'done' ? (outcomeAt(context, index) ?? 'retried') : 'error';
      (tracked.outcomes.get(outcome) ?? this.#outcomeCell(tracked, outcome)).observe(seconds);
    }
  }

  #stateCell(tracked: Tracked, state: string): HistogramCell {
    const cell = this.#stateDuration.cell({ machine: tracked.machine, state });
    tracked.states.set(state, cell);
    return cell;
  }

  #outcomeCell(tracked: Tracked, outcome: string): HistogramCell {
    const cell = this.#deliveryDuration.cell({ queue: tracked.queue!, outcome });
    tracked.outcomes!.set(outcome, cell);
    return cell;
  }

  #outcomeCells(queue: string): Map<string, HistogramCell> {
    let cells = this.#deliveryCells.get(queue);
    if (!cells) {
      cells = new Map(deliveryOutcomes.map((outcome) => [outcome, this.#deliveryDuration.cell({ queue, outcome })]));
      this.#deliveryCells.set(queue, cells);
    }
    return cells;
  }

  #countersOf(queue: string): ConsumerCounters {
    let counters = this.#consumerCounters.get(queue);
    if (!counters) {
      counters = { pauses: this.#pauses.labels(queue), restarts: this.#consumerRestarts.labels(queue) };
      counters.pauses.inc(0);
      counters.restarts.inc(0);
      this.#consumerCounters.set(queue, counters);
    }
    return counters;
  }

  #countSupervisorRestarts(tracked: Tracked, context: Record<string, unknown> | undefined): void {
    const restarts = context?.restarts as Readonly<Record<string, number>> | undefined;
    if (restarts === tracked.restarts || restarts === undefined) return;
    const previous = tracked.restarts ?? {};
    tracked.restarts = restarts;
    for (const [child, count] of Object.entries(restarts)) {
      const added = count - (previous[child] ?? 0);
      if (added > 0) this.#supervisorRestarts.labels(child).inc(added);
    }
  }
}

/** GET /metrics, in the Prometheus text format. */
export function registerMetricsRoute(app: FastifyInstance, metrics: RuntimeMetrics): void {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.type(metrics.contentType).header('cache-control', 'no-cache').send(text);
  });
}
