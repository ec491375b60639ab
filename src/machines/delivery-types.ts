/**
 * What the delivery machine (`delivery.ts`) works on: a batch's deliveries, their decoded messages, what a
 * transaction commits, and the machine's context, input, events and output. Types and pure helpers only.
 */
import type { ClassifiedFailure } from '../policies/classify-error.js';
import type { RetryLevels } from '../policies/delayed-retry.js';

/** What the machine needs of a delivery; `content` is the raw body. */
export interface Delivery {
  readonly queue: string;
  /** Where it was published: `''` for the default exchange. */
  readonly exchange?: string;
  readonly routingKey?: string;
  readonly deliveryTag: number;
  readonly redelivered: boolean;
  readonly messageId: string | undefined;
  readonly contentType: string | undefined;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly content: Uint8Array;
}

/** A decoded message: `key` identifies it for the inbox and the attempt count (its natural key). */
export interface Decoded {
  readonly key: string;
  readonly message: unknown;
}

/** What `decode` assigns: every delivery's decoded message (in order), or why a body is poison. */
export type DecodeResult =
  | { readonly decoded: readonly Decoded[] }
  | { readonly failure: ClassifiedFailure; readonly error: string; readonly attempts: number };

/** The outcome of a committed transaction, per delivery in the batch's order. */
export interface Persisted {
  /** True where the inbox had already seen the message: its effects were committed before. */
  readonly duplicates: readonly boolean[];
  /** Outbox rows written in the transaction, to publish once it has committed. */
  readonly outgoing: readonly unknown[];
  /** Service-specific facts about each effect (for example the card issued), for the summary log line. */
  readonly results: readonly unknown[];
  /**
   * Deliveries whose handler threw while the rest committed: not acked here, each is handed to a batch of its
   * own, which counts the failure without running the handler again.
   */
  readonly setAside?: readonly { readonly index: number; readonly error: unknown; readonly attempts: number }[];
}

/**
 * Where a delivery set aside from its batch goes next, from its failure and count: `retry` (within its
 * immediate retries), `delay` (a delay queue holds it for its next attempt) or `dead-letter`.
 */
export type SetAsideNext = 'retry' | 'delay' | 'dead-letter';

/** A delivery of the batch left out of its commit, and why. */
export interface SetAside {
  readonly index: number;
  readonly failure: ClassifiedFailure;
  /** Its attempts, this failure's counted in the commit. */
  readonly attempts: number;
  /**
   * `retry`: the batch hands it back for its next attempt in process itself (outcome `retried`), after
   * `retryDelay`. `delay` and `dead-letter`: the batch publishes its copy to its delay queue (`delayMs`) or
   * its dead-letter queue in `handingOn` and acks it once confirmed (outcome `delayed` or `dead-lettered`).
   */
  readonly next: SetAsideNext;
  readonly delayMs: number | undefined;
  /**
   * Set by `handingOn`: true once its copy was confirmed and it was acked; false when that publish failed and
   * a delivery of its own took it on (outcome `split` here: its own delivery's outcome is its).
   */
  readonly handedOn: boolean | undefined;
}

/** What `handOn` is given: the batch's deliveries and those of its set-aside ones that leave through a queue. */
export interface HandOnInput {
  readonly deliveries: readonly Delivery[];
  readonly setAside: readonly SetAside[];
}

/** A set-aside delivery whose copy the batch publishes (to a delay or dead-letter queue) before acking it. */
export const leavesThroughAQueue = (setAside: SetAside): boolean => setAside.next !== 'retry';

/** What a delivery set aside from its batch starts with: its failure, its count and its decoded message. */
export interface FailedInBatch {
  readonly failure: ClassifiedFailure;
  readonly attempts: number;
  readonly decoded: Decoded;
}

/** A failure inside the transaction (its commit included), carrying the transaction so that `rollingBack` can end it. */
export class PersistFailure extends Error {
  override name = 'PersistFailure';
  constructor(
    override readonly cause: unknown,
    readonly transaction: unknown,
    /** The index, in the batch, of the message whose handler threw, when it is known. */
    readonly culprit?: number,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * `split`: the batch ended by handing each of its deliveries to a batch of its own. `delayed`: acked once a
 * delay queue held it for its next attempt.
 */
export type DeliveryOutcome = 'acked' | 'duplicate' | 'dead-lettered' | 'retried' | 'delayed' | 'split';

export interface DeliveryContext {
  /** One or more deliveries of one queue, from one channel. */
  readonly deliveries: readonly Delivery[];
  readonly maxAttempts: number;
  /** When a failed attempt is retried in process, and when through a delay queue. */
  readonly retryLevels: RetryLevels;
  /** Once decoded: one per delivery, in order. */
  decoded: readonly Decoded[];
  /** Only while rolling back: the transaction that failed. */
  transaction: unknown;
  duplicates: readonly boolean[];
  outgoing: readonly unknown[];
  results: readonly unknown[];
  /** Deliveries the committed transaction left out (their handler threw): handed to batches of their own. */
  setAside: readonly SetAside[];
  /** Set aside from a batch whose other messages committed: its failure is counted, its handler not run again. */
  readonly failedInBatch: boolean;
  failure: ClassifiedFailure | undefined;
  attempts: number;
  /** While delaying: how long the delay queue holds the message before its next attempt. */
  delayMs: number | undefined;
  /** The last error seen, for the log line of the transition it caused. */
  error: string | undefined;
  outcome: DeliveryOutcome | undefined;
  /** The failure's attempt could not be recorded: taken for an outage. */
  unrecorded: boolean;
  /** The failure came while the consumer's breaker was open or half-open: taken for the outage's, not counted. */
  suspected: boolean;
  /** A failed batch's message whose handler threw, by index: it is split off, the rest stay together. */
  culprit: number | undefined;
}

export interface DeliveryInput {
  readonly deliveries: readonly Delivery[];
  readonly maxAttempts: number;
  /** Unset: every retry is immediate (in process), as when no delay queue is declared. */
  readonly retryLevels?: RetryLevels;
  /** One delivery set aside from its batch, its failure counted in the batch's commit: it goes on from there. */
  readonly failedInBatch?: FailedInBatch;
}

const immediateOnly: RetryLevels = { immediateRetries: Number.MAX_SAFE_INTEGER, delayedRetriesMs: [] };

/** A delivery's context before its first step. */
export function initialDeliveryContext(input: DeliveryInput): DeliveryContext {
  return {
    deliveries: input.deliveries,
    maxAttempts: input.maxAttempts,
    retryLevels: input.retryLevels ?? immediateOnly,
    decoded: input.failedInBatch ? [input.failedInBatch.decoded] : [],
    transaction: undefined,
    duplicates: [],
    outgoing: [],
    results: [],
    setAside: [],
    failedInBatch: input.failedInBatch !== undefined,
    failure: input.failedInBatch?.failure,
    attempts: input.failedInBatch?.attempts ?? 0,
    delayMs: undefined,
    error: input.failedInBatch?.failure.reason,
    outcome: undefined,
    unrecorded: false,
    suspected: false,
    culprit: undefined,
  };
}

/**
 * The delivery's failure is its handler's own (a bug, or a message the service cannot take yet), counted as
 * an attempt: not an outage's, not suspected of being one, not a poison body, not a timeout. Its next attempt
 * may run in a batch, in this process or after a redelivery.
 */
export function failedByItsHandler(context: DeliveryContext): boolean {
  const { attempts, suspected, failure } = context;
  return attempts > 0 && !suspected && failure?.kind === 'transient' && failure.timedOut !== true;
}

export interface DeliveryOutput {
  readonly outcome: DeliveryOutcome;
  readonly failure: ClassifiedFailure | undefined;
  readonly attempts: number;
  /** How many deliveries the inbox had already seen. */
  readonly duplicates: number;
  /** The failure's attempt could not be recorded (the failure is then `unavailable`). */
  readonly unrecorded: boolean;
}

function setAsideOutcome({ next, handedOn }: SetAside): DeliveryOutcome {
  if (next === 'retry') return 'retried';
  if (handedOn !== true) return 'split';
  return next === 'delay' ? 'delayed' : 'dead-lettered';
}

/**
 * The outcome of the batch's delivery at `index`: a batch that is acked may hold duplicates, and deliveries
 * set aside (`retried` when the batch retries them in process itself, `delayed` or `dead-lettered` when it
 * handed them on; `split` when a delivery of their own took them on: their outcome is its).
 */
export function outcomeAt(
  context: Pick<DeliveryContext, 'outcome' | 'duplicates'> & Partial<Pick<DeliveryContext, 'setAside'>>,
  index: number,
): DeliveryOutcome | undefined {
  const setAside = context.setAside?.find((each) => each.index === index);
  if (setAside !== undefined) return setAsideOutcome(setAside);
  return context.outcome === 'acked' && context.duplicates[index] ? 'duplicate' : context.outcome;
}

/** What `persist` is given: the batch's deliveries and their decoded messages. */
export interface PersistInput {
  readonly deliveries: readonly Delivery[];
  readonly decoded: readonly Decoded[];
}

/** What `publish` is given: the outbox rows the transaction wrote. */
export interface PublishInput {
  readonly outgoing: readonly unknown[];
}

export type DeliveryEvent =
  | { type: 'SHUTDOWN' }
  | { type: 'PERSISTED'; output: Persisted }
  | { type: 'PERSIST_FAILED'; error: unknown }
  | { type: 'PUBLISHED' }
  | { type: 'PUBLISH_FAILED'; error: unknown };
