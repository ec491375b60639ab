/**
 * The last N deliveries (200 by default), newest first: each one's path through the delivery machine with
 * the time spent in each state, its attempts, error, outcome and, when it was dead-lettered, the reason
 * (the same text as the dead letter's `x-ackstate-reason` header). A redelivery is a new delivery: search
 * by message id to see every attempt of one message.
 */
import { outcomeAt, type DeliveryContext } from '../../machines/delivery.js';
import type { DeliveryRecord, PathStep } from './payload.js';

/** A delivery of a batch, as the batch's context holds it (a `Delivery` is one). */
export interface BatchDelivery {
  readonly queue: string | undefined;
  readonly messageId: string | undefined;
  readonly deliveryTag: number | undefined;
  readonly redelivered: boolean;
}

/** A batch as it starts: whose it is, its deliveries in order (one record each), and where it starts. */
export interface NewBatch {
  readonly service: string | undefined;
  readonly consumer: string | undefined;
  readonly deliveries: readonly BatchDelivery[];
  readonly state: string;
  readonly at: number;
}

/**
 * What the monitor holds for a batch while it runs. Every delivery of a batch follows the batch's path (a
 * batch that splits ends, and its deliveries run again as new batches), so a step costs the same for a
 * batch of 32 as for one: the batch keeps one path, its latest context and one version, and each
 * delivery's record is worked out from them, by its index, only when the page reads it (and kept until the
 * batch changes again).
 */
export interface TrackedBatch {
  /** The seq of its first delivery; the one at `index` is `firstSeq + index`. */
  readonly firstSeq: number;
  /** How many deliveries it has: its records. */
  readonly count: number;
  readonly started: NewBatch;
  readonly path: PathStep[];
  /** The batch's context as of its last step. */
  context: DeliveryContext | undefined;
  finishedAt: number | undefined;
  status: string | undefined;
  /** The version of its last change: every one of its records has it. */
  version: number;
  /** Records worked out at `views.version`, by index, sharing one copy of the path. */
  views: Views | undefined;
}

interface Views {
  readonly version: number;
  readonly path: readonly PathStep[];
  readonly records: (DeliveryRecord | undefined)[];
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

function recordOf(batch: TrackedBatch, index: number, path: readonly PathStep[]): DeliveryRecord {
  const { started, context } = batch;
  const delivery = started.deliveries[index]!;
  const decoded = context?.decoded?.[index];
  let outcome: string | undefined = context === undefined ? undefined : outcomeAt(context, index);
  if (batch.status === 'error') outcome ??= 'machine error';
  // A delivery its batch set aside has a failure of its own; the batch's is the batch's.
  const failure = context?.setAside?.find((each) => each.index === index)?.failure ?? context?.failure;
  return {
    seq: batch.firstSeq + index,
    service: started.service,
    consumer: started.consumer,
    queue: delivery.queue,
    messageId: delivery.messageId ?? decoded?.key,
    key: decoded?.key,
    deliveryTag: delivery.deliveryTag,
    redelivered: delivery.redelivered,
    batch: batch.count,
    startedAt: started.at,
    finishedAt: batch.finishedAt,
    path,
    attempts: context?.attempts ?? 0,
    outcome,
    error: clip(context?.error),
    failureKind: failure?.kind,
    deadLetterReason: outcome === 'dead-lettered' && failure ? clip(failure.reason) : undefined,
    ids: idsOf(decoded?.message),
    version: batch.version,
  };
}

/**
 * The recent deliveries, held by batch, oldest batch first. Capacity counts deliveries: the oldest batches
 * go once the newer ones alone hold `capacity` deliveries, so the oldest batch held may be partly beyond
 * it, and its deliveries beyond it are not shown.
 */
export class RecentDeliveries {
  readonly capacity: number;
  readonly #batches: TrackedBatch[] = [];
  /** Deliveries in `#batches`. */
  #held = 0;
  #seq = 0;
  #version = 0;

  constructor(capacity = 200) {
    this.capacity = capacity;
  }

  /** Changes since this version are in `changedSince`. */
  get version(): number {
    return this.#version;
  }

  /** A batch starts: one record per delivery, numbered in the batch's order. */
  add(started: NewBatch, context?: DeliveryContext): TrackedBatch {
    this.#version += 1;
    const batch: TrackedBatch = {
      firstSeq: this.#seq + 1,
      count: started.deliveries.length,
      started,
      path: [{ state: started.state, at: started.at }],
      context,
      finishedAt: undefined,
      status: undefined,
      version: this.#version,
      views: undefined,
    };
    this.#seq += batch.count;
    this.#batches.push(batch);
    this.#held += batch.count;
    this.#evict();
    return batch;
  }

  moved(batch: TrackedBatch, state: string, at: number, msInPrevious: number): void {
    const last = batch.path[batch.path.length - 1];
    if (last) last.ms = Math.round(msInPrevious * 100) / 100;
    batch.path.push({ state, at });
    this.#touch(batch);
  }

  /** The batch's context after a step. */
  updated(batch: TrackedBatch, context: DeliveryContext): void {
    if (batch.context === context) return;
    batch.context = context;
    this.#touch(batch);
  }

  finished(batch: TrackedBatch, at: number, context: DeliveryContext, status: string | undefined): void {
    batch.context = context;
    batch.finishedAt = at;
    batch.status = status;
    this.#touch(batch);
  }

  /** The newest `capacity` records, newest first. */
  list(): DeliveryRecord[] {
    return this.#records(() => true);
  }

  /** Records changed after `version`, newest first. */
  changedSince(version: number): DeliveryRecord[] {
    return this.#records((batch) => batch.version > version);
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

  /** The records of the batches chosen, newest first, none beyond capacity. */
  #records(chosen: (batch: TrackedBatch) => boolean): DeliveryRecord[] {
    const oldestShown = this.#seq - this.capacity + 1;
    const records: DeliveryRecord[] = [];
    for (let position = this.#batches.length - 1; position >= 0; position -= 1) {
      const batch = this.#batches[position]!;
      if (!chosen(batch)) continue;
      const shownFrom = Math.max(0, oldestShown - batch.firstSeq);
      for (let index = batch.count - 1; index >= shownFrom; index -= 1) records.push(this.#view(batch, index));
    }
    return records;
  }

  #view(batch: TrackedBatch, index: number): DeliveryRecord {
    if (batch.views?.version !== batch.version) {
      const path = batch.path.map((step) => ({ ...step }));
      batch.views = { version: batch.version, path, records: [] };
    }
    const { records, path } = batch.views;
    return (records[index] ??= recordOf(batch, index, path));
  }

  /** Drops the oldest batches that the newer ones make redundant: those wholly beyond capacity. */
  #evict(): void {
    let oldest = this.#batches[0];
    while (oldest !== undefined && this.#held - oldest.count >= this.capacity) {
      this.#batches.shift();
      this.#held -= oldest.count;
      oldest = this.#batches[0];
    }
  }

  #touch(batch: TrackedBatch): void {
    this.#version += 1;
    batch.version = this.#version;
  }
}
