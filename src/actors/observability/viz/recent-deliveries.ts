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

export interface DeliveryRecord {
  /** Increasing per delivery seen by this process: the record's identity. */
  readonly seq: number;
  /** The service and the consumer whose delivery it is, and the queue it came from. */
  readonly service: string | undefined;
  readonly consumer: string | undefined;
  readonly queue: string | undefined;
  /** The message id, or the inbox key when the message has none (as in the log). */
  messageId: string | undefined;
  key: string | undefined;
  readonly deliveryTag: number | undefined;
  readonly redelivered: boolean;
  /** How many deliveries shared its batch (1: it ran alone). */
  readonly batch: number;
  readonly startedAt: number;
  finishedAt: number | undefined;
  readonly path: PathStep[];
  attempts: number;
  outcome: string | undefined;
  error: string | undefined;
  failureKind: string | undefined;
  deadLetterReason: string | undefined;
  /** The body's id fields (`id`, `user_id`, …) once decoded, for search. */
  ids: Record<string, string>;
  /** The monitor version of the last change to this record. */
  version: number;
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

export class RecentDeliveries {
  readonly capacity: number;
  readonly #records = new Map<number, DeliveryRecord>();
  #seq = 0;
  #version = 0;

  constructor(capacity = 200) {
    this.capacity = capacity;
  }

  /** Changes since this version are in `changedSince`. */
  get version(): number {
    return this.#version;
  }

  add(delivery: NewDelivery): DeliveryRecord {
    this.#seq += 1;
    this.#version += 1;
    const record: DeliveryRecord = {
      seq: this.#seq,
      service: delivery.service,
      consumer: delivery.consumer,
      queue: delivery.queue,
      messageId: delivery.messageId,
      key: undefined,
      deliveryTag: delivery.deliveryTag,
      redelivered: delivery.redelivered,
      batch: delivery.batch,
      startedAt: delivery.at,
      finishedAt: undefined,
      path: [{ state: delivery.state, at: delivery.at }],
      attempts: 0,
      outcome: undefined,
      error: undefined,
      failureKind: undefined,
      deadLetterReason: undefined,
      ids: {},
      version: this.#version,
    };
    this.#records.set(record.seq, record);
    // Maps iterate in insertion order: the first key is the oldest record.
    while (this.#records.size > this.capacity) this.#records.delete(this.#records.keys().next().value!);
    return record;
  }

  moved(record: DeliveryRecord, state: string, at: number, msInPrevious: number): void {
    const last = record.path[record.path.length - 1];
    if (last) last.ms = Math.round(msInPrevious * 100) / 100;
    record.path.push({ state, at });
    this.#touch(record);
  }

  /** `index`: the record's place in its batch. */
  updateFromContext(record: DeliveryRecord, context: DeliveryContext, index = 0): void {
    const decoded = context.decoded?.[index];
    if (decoded !== undefined) {
      record.key = decoded.key;
      record.messageId ??= decoded.key;
    }
    record.attempts = context.attempts ?? record.attempts;
    record.error = clip(context.error);
    record.outcome = outcomeAt(context, index) ?? record.outcome;
    record.failureKind = context.failure?.kind;
    if (decoded?.message !== undefined && Object.keys(record.ids).length === 0) record.ids = idsOf(decoded.message);
    if (record.outcome === 'dead-lettered' && context.failure) record.deadLetterReason = clip(context.failure.reason);
    this.#touch(record);
  }

  finished(record: DeliveryRecord, at: number, context: DeliveryContext, status: string | undefined, index = 0): void {
    this.updateFromContext(record, context, index);
    record.finishedAt = at;
    if (status === 'error') record.outcome ??= 'machine error';
    this.#touch(record);
  }

  /** Newest first. */
  list(): DeliveryRecord[] {
    return [...this.#records.values()].reverse();
  }

  /** Records changed after `version`, newest first. */
  changedSince(version: number): DeliveryRecord[] {
    return this.list().filter((record) => record.version > version);
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

  #touch(record: DeliveryRecord): void {
    this.#version += 1;
    record.version = this.#version;
  }
}
