/**
 * A queue's consumer: the consumer machine, provided with a subscription to one queue, and one delivery
 * machine per batch of messages. Every delivery is acked or nacked on the channel it arrived on; after the
 * channel is lost, its deliveries are left for the broker to redeliver (the inbox absorbs any repeat).
 *
 * Batching (`policies/batcher.ts`): a batch holds its place while its transaction runs, at most
 * `batchConcurrency` at once; whatever arrives meanwhile waits and goes into the next batch (up to
 * `maxBatch` messages). An idle consumer starts each message at once, alone, and a busy one pays for one
 * transaction, one delivery actor and one outbox update per batch instead of per message. A redelivered
 * message runs alone, since it may be the one that failed.
 */
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { assign, createActor, fromPromise, type ActorSystem, type AnyActorRef } from 'xstate';
import { renewConnections } from '../../db/database.js';
import { giveBackAttempts, recordAttempt, type MessagingDb, type OutgoingMessage } from '../../db/messaging-queries.js';
import { probeWrite } from '../../db/write-probe.js';
import type { MessagingTables } from '../../db/schema.js';
import type { OpenTransaction } from '../../db/transactions.js';
import type { Failpoints } from '../../failpoints.js';
import { breakerOpen, consumerMachine } from '../../machines/consumer.js';
import {
  deliveryMachine,
  persistStep,
  publishStep,
  type Delivery,
  type DeliveryContext,
  type DeliveryOutput,
} from '../../machines/delivery.js';
import { type ClassifiedFailure } from '../../policies/classify-error.js';
import { describeError } from '../../policies/describe-error.js';
import { Batcher } from '../../policies/batcher.js';
import { UnsettledTags } from '../../policies/unsettled-tags.js';
import { FailureWindow, firstProbeDelayMs, healthyVerdictHoldMs } from '../../policies/circuit-breaker.js';
import { HalfOpenTrial, trialMessages, type TrialResult } from '../../policies/half-open-trial.js';
import { attemptsKeyOf } from '../../policies/dead-letter.js';
import { backoffMs, retryDelayMs } from '../../policies/backoff.js';
import {
  attemptReasonsOf,
  boundedReason,
  maxAttemptReasons,
  returnedFromDelay,
  withReason,
} from '../../policies/delayed-retry.js';
import { redact } from '../../redact.js';
import type { Consumer } from '../../api/consumer.js';
import type { ResolvedConsumerSettings } from '../../api/settings.js';
import type { DeclaredDestinations } from '../outbox/outgoing.js';
import { persistBatch } from './batch-transaction.js';
import { decodeBatch, toDelivery } from './decode.js';
import { deadLetterOf, delayedRetryOf } from './failure-messages.js';
import { declareTopology, type Topology } from '../broker/topology.js';
import type { Inspector } from '../../observability/observation.js';
import type { Outbox } from '../outbox/outbox-relay.js';
import type { ConfirmPublisher } from '../broker/publisher.js';
import type { Tracing } from '../../observability/tracing/tracing.js';

export interface ConsumerOptions {
  /** The consumer actor's id and system id, through which the subscription reports back to it. */
  readonly id: string;
  readonly service: string;
  readonly consumer: Consumer<unknown>;
  readonly settings: ResolvedConsumerSettings;
  readonly destinations: DeclaredDestinations;
  readonly db: MessagingDb;
  readonly connection: AmqpConnectionManager;
  readonly topology: Topology;
  readonly publisher: ConfirmPublisher;
  readonly outbox: Outbox;
  readonly kickRelay: () => void;
  readonly inspect: Inspector;
  readonly failpoints: Failpoints;
  readonly shutdownTimeoutMs: number;
  /** Set when tracing is on: handed to the batch transaction (`batch-transaction.ts`). */
  readonly tracing?: Tracing;
}

/** A paused consumer probes its dependencies again less and less often, at least every 5 s. */
const probeBackoff = { baseMs: 100, maxMs: 5_000 };
/** The write probe's statement timeout: a lock or a stalled disk fails the probe instead of hanging it. */
const probeTimeoutMs = 2_000;

const tagOf = (message: Message) => message.fields.deliveryTag;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

interface Arrival {
  readonly channel: Channel;
  readonly message: ConsumeMessage;
}

/** The subscription's state, shared by the consumer machine's actors. */
class QueueSubscription {
  readonly #options: ConsumerOptions;
  readonly #inFlight = new Set<AnyActorRef>();
  /** The channel each delivery came on: it is acked or nacked there, or not at all. */
  readonly #origins = new WeakMap<Delivery, { channel: Channel; message: Message }>();
  /** Each channel's deliveries not settled yet: a batch that holds the lowest of them is acked in one frame. */
  readonly #unsettled = new WeakMap<Channel, UnsettledTags>();
  #wrapper: ChannelWrapper | undefined;
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #paused = false;
  #stopping = false;
  #consumer: AnyActorRef | undefined;
  #whenIdle: (() => void) | undefined;
  readonly #batcher: Batcher<Arrival>;
  /** The batches holding a place: each one's place is given back once its transaction has ended, or it has. */
  readonly #places = new Map<readonly Delivery[], () => void>();
  readonly #deliveryLogic;
  readonly #retryLevels;
  /** The reasons of a delivery's counted attempts, as recorded with its latest one, for its next hop. */
  readonly #attemptReasons = new WeakMap<Delivery, readonly string[]>();
  /** The outage breaker's window of recent results (`policies/circuit-breaker.ts`); used while closed. */
  readonly #window = new FailureWindow();
  /** Attempts counted by failures that the outage caused, by attempt key: given back before resuming. */
  readonly #owed = new Map<string, number>();
  /** The current half-open period's trial. */
  #trial = new HalfOpenTrial();
  /** Until then, a window tripped by failures other than timeouts is left to the messages (the probe passed). */
  #healthyUntil = 0;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    const { immediateRetries, delayedRetriesMs } = options.settings;
    this.#retryLevels = { immediateRetries, delayedRetriesMs };
    this.#deliveryLogic = this.#provideDeliveryActors();
    this.#batcher = new Batcher<Arrival>(
      (arrivals) =>
        new Promise<void>((release) => {
          const deliveries = this.#deliveriesOf(arrivals);
          // Taken before the machine starts: a batch that splits while decoding ends within `#run`.
          this.#places.set(deliveries, release);
          this.#run(deliveries);
        }),
      {
        maxBatch: options.settings.maxBatch,
        concurrency: options.settings.batchConcurrency,
        // Deliveries of a channel that has been lost are left to the broker: it redelivers them.
        admit: (arrival) => arrival.channel === this.#channel && !this.#stopping,
      },
    );
  }

  get queue(): string {
    return this.#options.consumer.queue;
  }

  attach(system: ActorSystem<never>): void {
    this.#consumer ??= system.get(this.#options.id) as AnyActorRef | undefined;
  }

  #lost(channel: Channel, reason: string): void {
    if (this.#channel !== channel) return;
    this.#channel = undefined;
    this.#consumerTag = undefined;
    if (!this.#stopping) this.#consumer?.send({ type: 'CHANNEL_LOST', reason: redact(reason) });
  }

  async subscribe(signal: AbortSignal): Promise<void> {
    await this.#closeWrapper();
    this.#paused = false; // a pause belongs to the subscription it was made on
    const { connection, topology } = this.#options;
    const { prefetch } = this.#options.settings;
    let failSetup: (error: unknown) => void = () => {};
    const setupFailed = new Promise<never>((_, reject) => {
      failSetup = reject;
    });
    const wrapper = connection.createChannel({
      name: `consumer ${this.queue}`,
      confirm: false,
      setup: async (channel: Channel) => {
        channel.on('error', () => {}); // the 'close' that follows carries the consequence
        channel.on('close', () => this.#lost(channel, 'channel closed'));
        await declareTopology(channel, topology);
        await channel.prefetch(prefetch);
        this.#channel = channel;
        if (!this.#paused) await this.#consume(channel);
      },
    });
    wrapper.on('error', (error: unknown) => {
      failSetup(error);
      if (this.#channel) this.#lost(this.#channel, describeError(error));
    });
    this.#wrapper = wrapper;
    const aborted = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(new Error('subscription abandoned')));
    });
    setupFailed.catch(() => {});
    aborted.catch(() => {});
    await Promise.race([wrapper.waitForConnect(), setupFailed, aborted]);
  }

  async #consume(channel: Channel): Promise<void> {
    const { consumerTag } = await channel.consume(this.queue, (message) => {
      if (message === null) this.#lost(channel, `the broker cancelled the consumer of ${this.queue}`);
      else this.#deliver(channel, message);
    });
    this.#consumerTag = consumerTag;
  }

  async pause(): Promise<void> {
    this.#paused = true;
    const channel = this.#channel;
    const tag = this.#consumerTag;
    this.#consumerTag = undefined;
    if (channel && tag) await channel.cancel(tag);
  }

  /**
   * Whether the failures that tripped the window are an outage: the write probe, once, on a connection of
   * its own. It passes: they are the messages' own, counted as they were. It fails: the attempts the window
   * counted are owed back, and the error opens the breaker.
   */
  async verifyDependencies(): Promise<void> {
    try {
      await probeWrite(this.#options.db, this.queue, probeTimeoutMs);
    } catch (error) {
      for (const [key, count] of this.#window.take()) this.#owe(key, count);
      throw error;
    }
    this.#window.clear();
    this.#healthyUntil = Date.now() + healthyVerdictHoldMs;
  }

  /**
   * Waits until the broker is connected and the database takes a write (`db/write-probe.ts`, on a
   * connection of its own), then renews the pool: its sessions opened during the outage may keep what it
   * left them (read-only, say) for their whole life. Probes with a growing delay, the first one later after
   * every failed trial.
   */
  async waitForDependencies(signal: AbortSignal, openings: number): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt += 1) {
      await sleep(attempt === 1 ? firstProbeDelayMs(openings) : backoffMs(probeBackoff, attempt), signal);
      if (signal.aborted) return;
      if (!this.#options.connection.isConnected()) continue;
      try {
        await probeWrite(this.#options.db, this.queue, probeTimeoutMs);
        renewConnections(this.#options.db);
        return;
      } catch {
        // still down: probe again
      }
    }
  }

  /** Gives back the attempts the outage counted; on failure they stay owed (the machine probes again). */
  async giveBackAttempts(): Promise<void> {
    if (this.#owed.size === 0) return;
    const owed = new Map(this.#owed);
    this.#owed.clear();
    try {
      await giveBackAttempts(this.#options.db, this.queue, owed);
    } catch (error) {
      for (const [key, count] of owed) this.#owe(key, count);
      throw error;
    }
  }

  #owe(key: string, count: number): void {
    this.#owed.set(key, (this.#owed.get(key) ?? 0) + count);
  }

  /** Consumes again with a small prefetch: the half-open breaker's trial deliveries, each alone. */
  async resume(): Promise<void> {
    this.#paused = false;
    this.#trial = new HalfOpenTrial();
    const channel = this.#channel;
    if (!channel) throw new Error('the channel was lost while paused');
    await channel.prefetch(trialMessages);
    await this.#consume(channel);
  }

  /** The trial passed: a consumer with the full prefetch replaces the trial's. */
  async widen(): Promise<void> {
    const channel = this.#channel;
    const trialTag = this.#consumerTag;
    if (!channel) throw new Error('the channel was lost during the trial');
    await channel.prefetch(this.#options.settings.prefetch);
    await this.#consume(channel);
    if (trialTag !== undefined) await channel.cancel(trialTag);
  }

  /** The breaker is closed: the consumer machine is in no state tagged `breakerOpen` (or not running yet). */
  #breakerClosed(): boolean {
    return !(this.#consumer?.getSnapshot().hasTag(breakerOpen) ?? false);
  }

  /**
   * What a finished delivery tells the breaker. A known outage opens it. Closed: its result enters the
   * window, which may trip it. Half-open: the trial (`policies/half-open-trial.ts`) closes or re-opens it.
   * Open: an attempt it counted is owed back.
   */
  #observe(output: DeliveryOutput, context: DeliveryContext): void {
    if (output.outcome === 'split') return;
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    const { failure } = output;
    if (failure?.kind === 'poison') return;
    const first = context.decoded[0];
    const key = first === undefined ? undefined : attemptsKeyOf(first.key, context.deliveries[0]!.headers);
    const halfOpen = consumer.getSnapshot().matches('halfOpen');
    if (failure === undefined) {
      if (halfOpen) this.#judgeTrial(consumer, { failed: false }, '');
      else if (this.#breakerClosed()) this.#recordSuccesses(context.deliveries.length);
      return;
    }
    const attemptRecorded = output.attempts > 0 && key !== undefined;
    const outage = failure.kind === 'unavailable';
    if (halfOpen || outage || !this.#breakerClosed()) {
      if (attemptRecorded) this.#owe(key, 1);
      if (halfOpen && key !== undefined) {
        const cause = outage ? 'outage' : failure.timedOut === true ? 'timeout' : 'other';
        this.#judgeTrial(consumer, { failed: true, key, cause }, failure.reason);
      } else if (outage) {
        const cause = output.unrecorded ? 'unrecordable' : 'unavailable';
        consumer.send({ type: 'DEPENDENCY_DOWN', reason: failure.reason, cause });
      }
      return;
    }
    if (key === undefined) return;
    const trip = this.#window.record({ failed: true, key, attemptRecorded, timedOut: failure.timedOut === true });
    const reason = `most recent deliveries failed, of several messages, the last with: ${failure.reason}`;
    if (trip === 'timeouts') {
      for (const [owedKey, count] of this.#window.take()) this.#owe(owedKey, count);
      consumer.send({ type: 'DEPENDENCY_DOWN', reason, cause: 'failure-rate' });
    } else if (trip === 'failures' && Date.now() >= this.#healthyUntil) {
      consumer.send({ type: 'FAILURES_SUSPECTED', reason });
    }
  }

  #recordSuccesses(count: number): void {
    for (let index = 0; index < count; index += 1) this.#window.record({ failed: false });
  }

  #judgeTrial(consumer: AnyActorRef, result: TrialResult, reason: string): void {
    const verdict = this.#trial.record(result);
    if (verdict === 'passed') {
      this.#window.clear();
      consumer.send({ type: 'TRIAL_PASSED' });
    } else if (verdict === 'failed') {
      consumer.send({ type: 'DEPENDENCY_DOWN', reason, cause: 'trial-failed' });
    }
  }

  async drain(): Promise<void> {
    this.#stopping = true;
    await this.pause().catch(() => {});
    this.#batcher.clear(); // never started: the broker redelivers them when the channel closes
    for (const delivery of this.#inFlight) delivery.send({ type: 'SHUTDOWN' });
    if (this.#inFlight.size > 0) {
      await Promise.race([
        new Promise<void>((resolve) => {
          this.#whenIdle = resolve;
        }),
        sleep(this.#options.shutdownTimeoutMs),
      ]);
    }
    await this.#closeWrapper();
  }

  async #closeWrapper(): Promise<void> {
    const wrapper = this.#wrapper;
    this.#wrapper = undefined;
    this.#channel = undefined;
    this.#consumerTag = undefined;
    if (wrapper) await wrapper.close().catch(() => {});
  }

  #deliver(channel: Channel, message: ConsumeMessage): void {
    this.#unsettledOn(channel).delivered(message.fields.deliveryTag);
    // A redelivery, or a message back from a delay queue, runs alone, at once: it is one that failed before.
    const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
    // While the breaker is not closed, each delivery is a trial or an outage's and runs alone too.
    const alone = message.fields.redelivered || returnedFromDelay(headers) || !this.#breakerClosed();
    if (alone) this.#run(this.#deliveriesOf([{ channel, message }]));
    else this.#batcher.add({ channel, message });
  }

  #release(deliveries: readonly Delivery[]): void {
    this.#places.get(deliveries)?.();
    this.#places.delete(deliveries);
  }

  #deliveriesOf(arrivals: readonly Arrival[]): readonly Delivery[] {
    return arrivals.map(({ channel, message }) => {
      const delivery = toDelivery(this.queue, message);
      this.#origins.set(delivery, { channel, message });
      return delivery;
    });
  }

  #run(deliveries: readonly Delivery[]): void {
    const options = this.#options;
    const delivery = createActor(this.#deliveryLogic, {
      input: {
        deliveries,
        maxAttempts: options.settings.maxAttempts,
        retryLevels: this.#retryLevels,
      },
      inspect: options.inspect,
    });
    this.#inFlight.add(delivery);
    const finish = () => {
      this.#release(deliveries);
      this.#inFlight.delete(delivery);
      if (this.#inFlight.size === 0) this.#whenIdle?.();
    };
    delivery.subscribe({
      complete: () => {
        finish();
        const snapshot = delivery.getSnapshot();
        const output = snapshot.output as DeliveryOutput;
        this.#observe(output, snapshot.context as DeliveryContext);
        if (output.duplicates > 0) options.kickRelay();
      },
      // A bug in the machine, not a message failure: leave the messages to the broker, never lose them.
      error: () => {
        finish();
        for (const each of deliveries) this.#settleDelivery(each, 'nack');
      },
    });
    delivery.start();
  }

  #unsettledOn(channel: Channel): UnsettledTags {
    let tags = this.#unsettled.get(channel);
    if (tags === undefined) {
      tags = new UnsettledTags();
      this.#unsettled.set(channel, tags);
    }
    return tags;
  }

  /**
   * Acks a batch: in one frame (`multiple` up to its highest tag) when its deliveries are the lowest its
   * channel has not settled, so that the frame acks nothing else; otherwise one by one.
   */
  #ackBatch(deliveries: readonly Delivery[]): void {
    const channel = this.#channel;
    const messages = deliveries.length > 1 && channel ? this.#messagesOn(channel, deliveries) : undefined;
    if (channel === undefined || messages === undefined || !this.#unsettledOn(channel).areLowest(messages.map(tagOf))) {
      for (const delivery of deliveries) this.#settleDelivery(delivery, 'ack');
      return;
    }
    const highest = messages.reduce((top, message) => (tagOf(message) > tagOf(top) ? message : top));
    this.#settle(channel, highest, 'ack', messages);
  }

  /** The messages of `deliveries`, when every one of them came on `channel`. */
  #messagesOn(channel: Channel, deliveries: readonly Delivery[]): Message[] | undefined {
    const messages: Message[] = [];
    for (const delivery of deliveries) {
      const origin = this.#origins.get(delivery);
      if (origin === undefined || origin.channel !== channel) return undefined;
      messages.push(origin.message);
    }
    return messages;
  }

  #settleDelivery(delivery: Delivery, how: 'ack' | 'nack'): void {
    const origin = this.#origins.get(delivery);
    if (origin) this.#settle(origin.channel, origin.message, how);
  }

  /** Acks or nacks `message`; with `upTo`, acks it with `multiple`: every message of `upTo` (itself among them). */
  #settle(channel: Channel, message: Message, how: 'ack' | 'nack', upTo?: readonly Message[]): void {
    if (this.#channel !== channel) return; // stale channel: the broker redelivers this one
    try {
      if (how === 'ack') {
        this.#options.failpoints.hit(`${this.#options.service}.beforeAck`);
        channel.ack(message, upTo !== undefined);
      } else {
        channel.nack(message, false, true);
      }
    } catch {
      return; // The channel closed under us: the broker redelivers the message.
    }
    const unsettled = this.#unsettledOn(channel);
    for (const settled of upTo ?? [message]) unsettled.settled(tagOf(settled));
  }

  /** Every counted attempt's reason: as recorded, or (when recording failed) as carried, with this one. */
  #reasonsOf(delivery: Delivery, failure: ClassifiedFailure): string[] {
    const recorded = this.#attemptReasons.get(delivery);
    return recorded ? [...recorded] : withReason(attemptReasonsOf(delivery.headers), failure.reason);
  }

  #provideDeliveryActors() {
    const { consumer: definition, db, publisher, outbox, failpoints, service, destinations, tracing } = this.#options;
    const { messageMaxBytes, retry } = this.#options.settings;
    const consumer = definition.queue;
    const leaseMs = outbox.leaseMs;
    const batchTransaction = { db, consumer: definition, destinations, failpoints, service, leaseMs, tracing };
    return deliveryMachine.provide({
      actors: {
        rollback: fromPromise<void, { transaction: unknown }>(async ({ input }) => {
          const transaction = input.transaction as OpenTransaction<MessagingTables> | undefined;
          await transaction?.rollback();
        }),
        recordFailure: fromPromise<number, { key: string; failure: ClassifiedFailure; delivery: Delivery }>(
          async ({ input }) => {
            const { key, failure, delivery } = input;
            const attemptsKey = attemptsKeyOf(key, delivery.headers);
            const recorded = await recordAttempt(
              db,
              consumer,
              attemptsKey,
              boundedReason(failure.reason),
              maxAttemptReasons,
            );
            this.#attemptReasons.set(delivery, recorded.reasons);
            return recorded.attempts;
          },
        ),
        delay: fromPromise<void, { delivery: Delivery; failure: ClassifiedFailure; attempts: number; delayMs: number }>(
          async ({ input: { delivery, failure, delayMs } }) => {
            await publisher.publish(delayedRetryOf(delivery, delayMs, this.#reasonsOf(delivery, failure)));
          },
        ),
        deadLetter: fromPromise<void, { delivery: Delivery; failure: ClassifiedFailure; attempts: number }>(
          async ({ input: { delivery, failure, attempts } }) => {
            const owner = { service, consumer: definition.name };
            await publisher.publish(
              deadLetterOf(delivery, owner, failure, attempts, this.#reasonsOf(delivery, failure)),
            );
          },
        ),
      },
      actions: {
        decode: assign(({ context }) => decodeBatch(context.deliveries, definition, messageMaxBytes)),
        persist: persistStep(async ({ deliveries, decoded }) => {
          try {
            return await persistBatch(batchTransaction, deliveries, decoded);
          } finally {
            this.#release(deliveries);
          }
        }),
        publish: publishStep(async ({ outgoing }) => {
          await outbox.publish(outgoing as readonly OutgoingMessage[]);
        }),
        ack: ({ context }) => this.#ackBatch(context.deliveries),
        nack: ({ context }) => {
          for (const delivery of context.deliveries) this.#settleDelivery(delivery, 'nack');
        },
        // Started after this step, as roots of their own; when stopping, the closing channel returns them.
        split: ({ context }) => {
          const { deliveries, culprit } = context;
          queueMicrotask(() => {
            if (this.#stopping) return;
            if (culprit === undefined) {
              for (const delivery of deliveries) this.#run([delivery]);
              return;
            }
            this.#run([deliveries[culprit]!]);
            this.#run(deliveries.filter((_, index) => index !== culprit));
          });
        },
      },
      guards: {
        outageSuspected: () => !this.#breakerClosed(),
      },
      delays: {
        retryDelay: ({ context }) => retryDelayMs(retry, Math.max(1, context.attempts)),
      },
    });
  }
}

export function consumerLogic(options: ConsumerOptions) {
  const subscription = new QueueSubscription(options);
  return consumerMachine.provide({
    actors: {
      subscribe: fromPromise(async ({ system, signal }) => {
        subscription.attach(system as ActorSystem<never>);
        await subscription.subscribe(signal);
      }),
      verifyDependencies: fromPromise(() => subscription.verifyDependencies()),
      pause: fromPromise(() => subscription.pause()),
      waitForDependency: fromPromise<void, { queue: string; openings: number }>(({ signal, input }) =>
        subscription.waitForDependencies(signal, input.openings),
      ),
      giveBackAttempts: fromPromise(() => subscription.giveBackAttempts()),
      resume: fromPromise(() => subscription.resume()),
      widen: fromPromise(() => subscription.widen()),
      drain: fromPromise(() => subscription.drain()),
    },
  });
}
