/**
 * Prometheus metrics of one running system, in a registry of its own (never prom-client's global one, so
 * that several systems in one process keep apart). The machine-driven series come from the decoded
 * inspection stream: `RuntimeMetrics` is one of the decoder's listeners (see `decoder.ts`). It runs on every
 * state change of every delivery, so it looks label sets up once per consumer and machine and observes into
 * cells that allocate nothing. Delivery and consumer series name the service, the consumer and the queue.
 * The scrape-time values (outbox backlog, queue depths) are read by probes just before each scrape.
 */
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { CellCountCounter, CellHistogram, type HistogramCell } from './metrics-histogram.js';
import { outcomeAt, type DeliveryContext } from '../machines/delivery.js';
import { breakerTrips } from '../machines/consumer.js';
import { machineIds, settledOutcomes, type ConnectionState, type ConsumerState } from '../machines/names.js';
import type {
  ActorEnded,
  ContextChanged,
  ObservationListener,
  ObservedActor,
  ObservedConsumer,
  ObservedContext,
  StateChanged,
} from './observation.js';
import { DurableActorMetrics } from './durable-actor-metrics.js';
import { PauseMetrics } from './metrics-pauses.js';
import { RetentionMetrics } from './retention-metrics.js';
import {
  NotConnectedError,
  PublishTimeoutError,
  UnroutableError,
  type PublishObserver,
} from '../actors/broker/publisher.js';

const stateBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600,
];
const deliveryBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const confirmBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The kinds of failed publishes, each a `kind` label of `ackstate_publish_failures_total` from the start. */
const publishFailureKinds = ['not_connected', 'timeout', 'unroutable', 'rejected'] as const;

/** The `kind` label of a failed publish. */
export function publishFailureKind(error: Error): (typeof publishFailureKinds)[number] {
  if (error instanceof NotConnectedError) return 'not_connected';
  if (error instanceof PublishTimeoutError) return 'timeout';
  if (error instanceof UnroutableError) return 'unroutable';
  return 'rejected'; // a nack, or the channel closed before the confirm
}

export interface RuntimeMetricsOptions {
  /** The observed consumers by queue: their delivery and consumer series exist from the start, at zero. */
  readonly consumers?: ReadonlyMap<string, ObservedConsumer>;
  /** Node's default process metrics (CPU, memory, event loop lag, GC), unprefixed. */
  readonly processMetrics?: boolean;
  /** Epoch milliseconds, read at scrape time for the ages it reports (`Date.now` unless a test gives its own). */
  readonly now?: () => number;
}

interface ConsumerCounters {
  readonly pauses: Counter.Internal;
  readonly restarts: Counter.Internal;
}

/** The `reason` label of a breaker trip: why the consumer's outage breaker opened. */

type OwnerLabel = 'service' | 'consumer' | 'queue';

export class RuntimeMetrics implements ObservationListener {
  readonly registry = new Registry();
  /** The long-lived actors (not deliveries) by name (system id), for `ackstate_actor_state`. */
  readonly #named = new Map<string, ObservedActor>();
  /** Time-in-state cells by machine, then by state. */
  readonly #stateCells = new Map<string, Map<string, HistogramCell>>();
  /** Delivery duration cells by queue (one consumer per queue), then by outcome. */
  readonly #deliveryCells = new Map<string, Map<string, HistogramCell>>();
  readonly #consumerCounters = new Map<string, ConsumerCounters>();
  /** The supervisor: restarts per child, as last seen. */
  readonly #supervisorRestartsSeen = new WeakMap<ObservedActor, Readonly<Record<string, number>>>();
  readonly #probes: (() => Promise<void>)[] = [];

  readonly #stateDuration: CellHistogram<'machine' | 'state'>;
  readonly #deliveryDuration: CellHistogram<OwnerLabel | 'outcome'>;
  readonly #confirm: HistogramCell;
  readonly #publishFailures: Counter<'kind'>;
  readonly #pauses: Counter<OwnerLabel>;
  readonly #consumerRestarts: Counter<OwnerLabel>;
  readonly #breakerTrips: Counter<OwnerLabel | 'reason'>;
  readonly #supervisorRestarts: Counter<'child'>;
  readonly #disconnects: Counter;
  readonly #reconnects: Counter;
  readonly #retention: RetentionMetrics;
  readonly #durable: DurableActorMetrics;
  readonly #paused: PauseMetrics;
  /** Probes count their failures here; a failed probe never fails the scrape. */
  readonly scrapeErrors: Counter<'probe'>;

  constructor({ consumers = new Map(), processMetrics = true, now = Date.now }: RuntimeMetricsOptions = {}) {
    const registers = [this.registry];
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
    this.#deliveryDuration = new CellHistogram(this.registry, {
      name: 'ackstate_delivery_duration_seconds',
      help: 'Time from receiving a delivery to its end (acked, nacked for a retry, or dead-lettered and acked), by service, consumer, queue and outcome.',
      labelNames: ['service', 'consumer', 'queue', 'outcome'],
      buckets: deliveryBuckets,
    });
    new CellCountCounter(
      this.registry,
      'ackstate_deliveries_total',
      'Deliveries ended, by service, consumer, queue and outcome (acked, duplicate, retried, delayed, dead-lettered).',
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
    for (const kind of publishFailureKinds) this.#publishFailures.labels(kind).inc(0);
    this.#pauses = new Counter({
      name: 'ackstate_consumer_pauses_total',
      help: 'Times a consumer paused because a dependency (the database or the broker) was unavailable, by service, consumer and queue.',
      labelNames: ['service', 'consumer', 'queue'],
      registers,
    });
    this.#breakerTrips = new Counter({
      name: 'ackstate_breaker_trips_total',
      help: "Times a consumer's outage breaker opened, by service, consumer, queue and reason: unavailable (an error known as an outage), failure-rate (most recent deliveries of several messages timed out, or failed while the write probe failed too), unrecordable (an attempt could not be recorded), trial-failed (the half-open trial failed).",
      labelNames: ['service', 'consumer', 'queue', 'reason'],
      registers,
    });
    this.#consumerRestarts = new Counter({
      name: 'ackstate_consumer_restarts_total',
      help: "Times a consumer's subscription was restarted after its channel was lost or could not be opened, by service, consumer and queue.",
      labelNames: ['service', 'consumer', 'queue'],
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
    this.#retention = new RetentionMetrics(this.registry);
    this.#durable = new DurableActorMetrics(this.registry);
    this.#paused = new PauseMetrics(this.registry, consumers, now);
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
        for (const [name, actor] of named) this.labels(name, actor.state ?? '').set(1);
      },
    });
    for (const [queue, owner] of consumers) {
      this.#outcomeCells(queue, owner);
      this.#countersOf(queue, owner);
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

  /** A state left: its time, and the counters its new state moves. The first snapshot only begins the actor. */
  changed(event: StateChanged): void {
    const { actor, from, to } = event;
    if (from === null) {
      this.#begin(actor, event.context);
      return;
    }
    let states = this.#stateCells.get(actor.machine);
    if (states === undefined) {
      states = new Map();
      this.#stateCells.set(actor.machine, states);
    }
    (states.get(from) ?? this.#stateCell(actor.machine, states, from)).observe(event.ms! / 1_000);
    if (actor.kind === 'consumer') {
      this.#consumerChanged(actor, to as ConsumerState, event.context);
    } else if (actor.kind === 'connection') {
      this.#connectionChanged(from as ConnectionState, to as ConnectionState);
    } else if (actor.kind === 'supervisor') {
      this.#countSupervisorRestarts(actor, event.context);
    } else if (actor.machine === machineIds.retention) {
      this.#retention.observe(actor, event.context);
    }
  }

  /** A consumer's pauses (and their trips) and restarts. */
  #consumerChanged(actor: ObservedActor, to: ConsumerState, context: ObservedContext): void {
    this.#paused.observe(actor, context);
    if (actor.queue !== undefined && (to === 'pausing' || to === 'restarting')) {
      const counters = this.#countersOf(actor.queue, actor.owner);
      (to === 'pausing' ? counters.pauses : counters.restarts).inc();
      const reason = context.trippedBy;
      if (to === 'pausing' && typeof reason === 'string') this.#tripsOf(actor.queue, actor.owner, reason).inc();
    }
  }

  /** The broker connection's losses and recoveries. */
  #connectionChanged(from: ConnectionState, to: ConnectionState): void {
    if (to === 'reconnecting') this.#disconnects.inc();
    else if (from === 'reconnecting' && to === 'connected') this.#reconnects.inc();
  }

  /** The supervisor counts its children's restarts in its context, without changing state. */
  updated(event: ContextChanged): void {
    if (event.actor.kind === 'supervisor') this.#countSupervisorRestarts(event.actor, event.context);
    else if (event.actor.kind === 'consumer') this.#paused.observe(event.actor, event.context);
    else if (event.actor.machine === machineIds.retention) this.#retention.observe(event.actor, event.context);
  }

  /** A delivery's duration and outcome, once per delivery of its batch. */
  ended(event: ActorEnded): void {
    const { actor, status } = event;
    if (actor.kind !== 'delivery' || actor.queue === undefined || status === 'stopped') return;
    const context = event.context as unknown as DeliveryContext;
    // A split batch is counted through the batches of one it handed its deliveries to.
    if (context.outcome === 'split') return;
    const seconds = event.ms / 1_000;
    const cells = this.#outcomeCells(actor.queue, actor.owner);
    const count = context.deliveries?.length ?? 1;
    for (let index = 0; index < count; index += 1) {
      // A machine that fails (a bug, not a message failure) ends in `error`; the consumer nacks its messages.
      const outcome = status === 'done' ? (outcomeAt(context, index) ?? 'retried') : 'error';
      if (outcome === 'split') continue; // set aside: counted through its own batch
      (cells.get(outcome) ?? this.#outcomeCell(cells, actor.queue, actor.owner, outcome)).observe(seconds);
    }
    if (status === 'done' && context.results !== undefined) this.#durable.observe(context.results);
  }

  #begin(actor: ObservedActor, context: ObservedContext): void {
    if (actor.queue !== undefined) {
      if (actor.kind === 'delivery') this.#outcomeCells(actor.queue, actor.owner);
      else if (actor.kind === 'consumer') {
        this.#countersOf(actor.queue, actor.owner);
        this.#paused.observe(actor, context);
      }
    }
    if (actor.kind === 'supervisor') {
      for (const child of (context.children ?? []) as readonly { id: string }[])
        this.#supervisorRestarts.labels(child.id).inc(0);
      this.#countSupervisorRestarts(actor, context);
    }
    if (actor.machine === machineIds.retention) this.#retention.observe(actor, context);
    // A respawned child takes its predecessor's name.
    if (actor.kind !== 'delivery') this.#named.set(actor.name, actor);
  }

  #stateCell(machine: string, states: Map<string, HistogramCell>, state: string): HistogramCell {
    const cell = this.#stateDuration.cell({ machine, state });
    states.set(state, cell);
    return cell;
  }

  #outcomeCell(
    cells: Map<string, HistogramCell>,
    queue: string,
    owner: ObservedConsumer | undefined,
    outcome: string,
  ): HistogramCell {
    const cell = this.#deliveryDuration.cell({
      service: owner?.service ?? '',
      consumer: owner?.consumer ?? '',
      queue,
      outcome,
    });
    cells.set(outcome, cell);
    return cell;
  }

  /** A queue's cells, made at zero for every outcome on first use. An unknown queue's service and consumer are empty. */
  #outcomeCells(queue: string, owner: ObservedConsumer | undefined): Map<string, HistogramCell> {
    let cells = this.#deliveryCells.get(queue);
    if (!cells) {
      cells = new Map();
      for (const outcome of settledOutcomes) this.#outcomeCell(cells, queue, owner, outcome);
      this.#deliveryCells.set(queue, cells);
    }
    return cells;
  }

  #countersOf(queue: string, owner: ObservedConsumer | undefined): ConsumerCounters {
    let counters = this.#consumerCounters.get(queue);
    if (!counters) {
      const labels = { service: owner?.service ?? '', consumer: owner?.consumer ?? '', queue };
      counters = { pauses: this.#pauses.labels(labels), restarts: this.#consumerRestarts.labels(labels) };
      counters.pauses.inc(0);
      counters.restarts.inc(0);
      for (const reason of breakerTrips) this.#tripsOf(queue, owner, reason).inc(0);
      this.#consumerCounters.set(queue, counters);
    }
    return counters;
  }

  #tripsOf(queue: string, owner: ObservedConsumer | undefined, reason: string): Counter.Internal {
    return this.#breakerTrips.labels({ service: owner?.service ?? '', consumer: owner?.consumer ?? '', queue, reason });
  }

  #countSupervisorRestarts(actor: ObservedActor, context: ObservedContext): void {
    const restarts = context.restarts as Readonly<Record<string, number>> | undefined;
    const previous = this.#supervisorRestartsSeen.get(actor);
    if (restarts === previous || restarts === undefined) return;
    this.#supervisorRestartsSeen.set(actor, restarts);
    for (const [child, count] of Object.entries(restarts)) {
      const added = count - (previous?.[child] ?? 0);
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
