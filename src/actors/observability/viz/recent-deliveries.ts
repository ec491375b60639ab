/**
 * The last N deliveries (200 by default), newest first: each one's path through the delivery machine with
 * the time spent in each state, its attempts, error, outcome and, when it was dead-lettered, the reason
 * (the same text as the dead letter's `x-ackstate-reason` header). A redelivery is a new delivery: search
 * by message id to see every attempt of one message.
 */
import { outcomeAt, type DeliveryContext } from '../../../machines/delivery.js';

export interface PathStep {
  readonly state: string;
  /** Epoch milliseconds when the state was entered. */
  readonly at: number;
  /** Milliseconds spent in the state; absent while in it, and for the final state. */
  ms?: number;
}

/** A recent delivery as the page reads it. */
export interface DeliveryRecord {
  /** Increasing per delivery seen by this process: the record's identity. */
  readonly seq: number;
  /** The service and the consumer whose delivery it is, and the queue it came from. */
  readonly service: string | undefined;
  readonly consumer: string | undefined;
  readonly queue: string | undefined;
  /** The message id, or the inbox key when the message has none (as in the log). */
  readonly messageId: string | undefined;
  readonly key: string | undefined;
  readonly deliveryTag: number | undefined;
  readonly redelivered: boolean;
  /** How many deliveries shared its batch (1: it ran alone). */
  readonly batch: number;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
  readonly path: readonly PathStep[];
  readonly attempts: number;
  readonly outcome: string | undefined;
  readonly error: string | undefined;
  readonly failureKind: string | undefined;
  readonly deadLetterReason: string | undefined;
  /** The body's id fields (`id`, `user_id`, …) once decoded, for search. */
  readonly ids: Readonly<Record<string, string>>;
  /** The monitor version of the last change to this record. */
  readonly version: number;
}

/**
 * What the monitor holds for a delivery while it runs: the batch's latest context, not the fields read from
 * it. A delivery changes at every step and is read only when the page asks, so its fields are worked out on
 * reading (and kept until it changes again).
 */
export interface TrackedDelivery {
  readonly seq: number;
  readonly delivery: NewDelivery;
  readonly path: PathStep[];
  /** Its place in its batch, and the batch's context as of its last step. */
  readonly index: number;
  context: DeliveryContext | undefined;
  finishedAt: number | undefined;
  status: string | undefined;
  version: number;
  view: DeliveryRecord | undefined;
}

export interface NewDelivery {
  readonly queue: string | undefined;
  readonly service: string | undefined;
  readonly consumer: string | undefined;
  readonly messageId: string | undefined;
  readonly deliveryTag: number | undefined;
  readonly redelivered: boolean;
  readonly batch: number;
  readonly state: string;
  readonly at: number;
}

const maxText = 2_000;
const clip = (text: string | undefined) =>
  text !== undefined && text.length > maxText ? `${text.slice(0, maxText)}…` : text;

function idsOf(message: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  if (message && typeof message === 'object' && !Array.isArray(message)) {
    for (const [field, value] of Object.entries(message)) {
      if ((field === 'id' || field.endsWith('_id')) && typeof value === 'string' && value.length <= 255)
        ids[field] = value;
    }
  }
  return ids;
}

function recordOf(tracked: TrackedDelivery): DeliveryRecord {
  const { delivery, context, index } = tracked;
  const decoded = context?.decoded?.[index];
  let outcome: string | undefined = context === undefined ? undefined : outcomeAt(context, index);
  if (tracked.status === 'error') outcome ??= 'machine error';
  const failure = context?.failure;
  return {
    seq: tracked.seq,
    service: delivery.service,
    consumer: delivery.consumer,
    queue: delivery.queue,
    messageId: delivery.messageId ?? decoded?.key,
    key: decoded?.key,
    deliveryTag: delivery.deliveryTag,
    redelivered: delivery.redelivered,
    batch: delivery.batch,
    startedAt: delivery.at,
    finishedAt: tracked.finishedAt,
    path: tracked.path.map((step) => ({ ...step })),
    attempts: context?.attempts ?? 0,
    outcome,
    error: clip(context?.error),
    failureKind: failure?.kind,
    deadLetterReason: outcome === 'dead-lettered' && failure ? clip(failure.reason) : undefined,
    ids: idsOf(decoded?.message),
    version: tracked.version,
  };
}

export class RecentDeliveries {
  readonly capacity: number;
  readonly #tracked = new Map<number, TrackedDelivery>();
  #seq = 0;
  #version = 0;

  constructor(capacity = 200) {
    this.capacity = capacity;
  }

  /** Changes since this version are in `changedSince`. */
  get version(): number {
    return this.#version;
  }

  /** `index`: the delivery's place in its batch. */
  add(delivery: NewDelivery, index = 0): TrackedDelivery {
    this.#seq += 1;
    this.#version += 1;
    const tracked: TrackedDelivery = {
      seq: this.#seq,
      delivery,
      path: [{ state: delivery.state, at: delivery.at }],
      index,
      context: undefined,
      finishedAt: undefined,
      status: undefined,
      version: this.#version,
      view: undefined,
    };
    this.#tracked.set(tracked.seq, tracked);
    // Maps iterate in insertion order: the first key is the oldest record.
    while (this.#tracked.size > this.capacity) this.#tracked.delete(this.#tracked.keys().next().value!);
    return tracked;
  }

  moved(tracked: TrackedDelivery, state: string, at: number, msInPrevious: number): void {
    const last = tracked.path[tracked.path.length - 1];
    if (last) last.ms = Math.round(msInPrevious * 100) / 100;
    tracked.path.push({ state, at });
    this.#touch(tracked);
  }

  /** The batch's context after a step. */
  updated(tracked: TrackedDelivery, context: DeliveryContext): void {
    if (tracked.context === context) return;
    tracked.context = context;
    this.#touch(tracked);
  }

  finished(tracked: TrackedDelivery, at: number, context: DeliveryContext, status: string | undefined): void {
    tracked.context = context;
    tracked.finishedAt = at;
    tracked.status = status;
    this.#touch(tracked);
  }

  /** Newest first. */
  list(): DeliveryRecord[] {
    return this.#newestFirst().map((tracked) => this.#view(tracked));
  }

  /** Records changed after `version`, newest first. */
  changedSince(version: number): DeliveryRecord[] {
    return this.#newestFirst()
      .filter((tracked) => tracked.version > version)
      .map((tracked) => this.#view(tracked));
  }

  /** Records whose message id, inbox key or body ids contain the text (case-insensitive), newest first. */
  search(text: string): DeliveryRecord[] {
    const needle = text.trim().toLowerCase();
    if (!needle) return this.list();
    return this.list().filter((record) =>
      [record.messageId, record.key, ...Object.values(record.ids)].some((value) =>
        value?.toLowerCase().includes(needle),
      ),
    );
  }

  #newestFirst(): TrackedDelivery[] {
    return [...this.#tracked.values()].reverse();
  }

  #view(tracked: TrackedDelivery): DeliveryRecord {
    if (tracked.view?.version !== tracked.version) tracked.view = recordOf(tracked);
    return tracked.view;
  }

  #touch(tracked: TrackedDelivery): void {
    this.#version += 1;
    tracked.version = this.#version;
  }
}
