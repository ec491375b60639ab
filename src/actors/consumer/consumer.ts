/**
 * A queue's consumer: the consumer machine, provided with a subscription to one queue, and one delivery
 * machine per batch of messages (`delivery-actors.ts`). Acks and nacks go through `settlement.ts`, the
 * outage breaker's decisions through `policies/outage-breaker.ts` and its probes through
 * `outage-checks.ts`.
 *
 * Batching (`policies/batcher.ts`): a batch holds its place while its transaction runs, at most
 * `batchConcurrency` at once; whatever arrives meanwhile waits and goes into the next batch (up to
 * `maxBatch` messages). An idle consumer starts each message at once, alone, and a busy one pays for one
 * transaction, one delivery actor and one outbox update per batch instead of per message. A message whose
 * handler threw comes back to the batcher for its immediate retry (`retry`), still unacked. A redelivered
 * message runs alone, since it may have brought a process down, unless this consumer nacked it itself
 * after its handler threw (`retried-messages.ts`).
 */
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import { setTimeout as delay } from 'node:timers/promises';
import { createActor, fromPromise, type ActorSystem, type AnyActorRef } from 'xstate';
import { breakerOpen, consumerMachine } from '../../machines/consumer.js';
import type { Delivery, DeliveryContext, DeliveryOutput, FailedInBatch } from '../../machines/delivery.js';
import { Batcher } from '../../policies/batcher.js';
import { attemptsKeyOf } from '../../policies/dead-letter.js';
import { describeError } from '../../policies/describe-error.js';
import { trialMessages } from '../../policies/half-open-trial.js';
import { OutageBreaker, type BreakerPosition, type FinishedDelivery } from '../../policies/outage-breaker.js';
import { redact } from '../../redact.js';
import { declareTopology } from '../broker/topology.js';
import type { ConsumerOptions } from './consumer-options.js';
import { provideDeliveryActors, type DeliveryHost } from './delivery-actors.js';
import { OutageChecks } from './outage-checks.js';
import { Settlement } from './settlement.js';

export type { ConsumerOptions } from './consumer-options.js';

interface Arrival {
  readonly channel: Channel;
  readonly delivery: Delivery;
}

/** The subscription's state, shared by the consumer machine's actors. */
class QueueSubscription implements DeliveryHost {
  readonly #options: ConsumerOptions;
  readonly #inFlight = new Set<AnyActorRef>();
  /** Deliveries set aside from their batch, waiting for their immediate retry. */
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  readonly settlement: Settlement;
  readonly checks: OutageChecks;
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

  constructor(options: ConsumerOptions) {
    this.#options = options;
    const { immediateRetries, delayedRetriesMs } = options.settings;
    this.#retryLevels = { immediateRetries, delayedRetriesMs };
    const beforeAck = () => options.failpoints.hit(`${options.service}.beforeAck`);
    this.settlement = new Settlement(() => this.#channel, beforeAck, options.settings.prefetch);
    this.checks = new OutageChecks(new OutageBreaker(), options.db, options.connection, options.consumer.queue);
    this.#deliveryLogic = provideDeliveryActors(options, this);
    this.#batcher = new Batcher<Arrival>(
      (arrivals) =>
        new Promise<void>((release) => {
          const deliveries = arrivals.map((arrival) => arrival.delivery);
          // Taken before the machine starts: a batch that splits while decoding ends within `run`.
          this.#places.set(deliveries, release);
          this.run(deliveries);
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

  get stopping(): boolean {
    return this.#stopping;
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

  /** Consumes again with a small prefetch: the half-open breaker's trial deliveries, each alone. */
  async resume(): Promise<void> {
    this.#paused = false;
    this.checks.breaker.startTrial();
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
  breakerClosed(): boolean {
    return !(this.#consumer?.getSnapshot().hasTag(breakerOpen) ?? false);
  }

  #breakerPosition(consumer: AnyActorRef): BreakerPosition {
    if (consumer.getSnapshot().matches('halfOpen')) return 'halfOpen';
    return this.breakerClosed() ? 'closed' : 'open';
  }

  /** What a finished delivery tells the breaker (`policies/outage-breaker.ts`), passed on to the machine. */
  #observe(output: DeliveryOutput, context: DeliveryContext): void {
    const consumer = this.#consumer;
    if (output.outcome === 'split' || consumer === undefined) return;
    const { failure, attempts, unrecorded } = output;
    const successes = context.deliveries.length - context.setAside.length;
    this.#tellBreaker(consumer, { failure, successes, key: attemptsKeyAt(context, 0), attempts, unrecorded });
    for (const { index, failure, attempts, handedOn } of context.setAside) {
      // One that a delivery of its own took on is told by that delivery; the others as their own would tell them.
      if (handedOn === false) continue;
      this.#tellBreaker(consumer, {
        failure,
        successes: 0,
        key: attemptsKeyAt(context, index),
        attempts,
        unrecorded: false,
      });
    }
  }

  #tellBreaker(consumer: AnyActorRef, delivery: FinishedDelivery): void {
    const signal = this.checks.breaker.observe(delivery, this.#breakerPosition(consumer), Date.now());
    if (signal !== undefined) consumer.send(signal);
  }

  async drain(): Promise<void> {
    this.#stopping = true;
    await this.pause().catch(() => {});
    this.#batcher.clear(); // never started: the broker redelivers them when the channel closes
    for (const timer of this.#retryTimers) clearTimeout(timer); // the same for those waiting to retry
    this.#retryTimers.clear();
    for (const delivery of this.#inFlight) delivery.send({ type: 'SHUTDOWN' });
    if (this.#inFlight.size > 0) {
      const idle = new Promise<void>((resolve) => {
        this.#whenIdle = resolve;
      });
      await Promise.race([idle, delay(this.#options.shutdownTimeoutMs)]);
    }
    this.settlement.flush(); // held acks of committed messages, or the broker redelivers them
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
    const { delivery, batchable } = this.settlement.arrived(this.queue, channel, message);
    // While the breaker is not closed, each delivery is a trial or an outage's and runs alone.
    if (batchable && this.breakerClosed()) this.#batcher.add({ channel, delivery });
    else this.run([delivery]);
  }

  retry(delivery: Delivery): void {
    const channel = this.settlement.channelOf(delivery);
    if (channel !== undefined) this.#batcher.add({ channel, delivery });
  }

  retryAfter(delivery: Delivery, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      if (this.#stopping) return; // left unacked: the broker redelivers it when the channel closes
      // The breaker opened meanwhile: the retry is left to the broker, as a delivery machine's would be.
      if (this.breakerClosed()) this.retry(delivery);
      else this.settlement.nack([delivery], true);
    }, delayMs);
    this.#retryTimers.add(timer);
  }

  release(deliveries: readonly Delivery[]): void {
    this.#places.get(deliveries)?.();
    this.#places.delete(deliveries);
  }

  run(deliveries: readonly Delivery[], failedInBatch?: FailedInBatch): void {
    const options = this.#options;
    const delivery = createActor(this.#deliveryLogic, {
      input: { deliveries, maxAttempts: options.settings.maxAttempts, retryLevels: this.#retryLevels, failedInBatch },
      inspect: options.inspect,
    });
    this.#inFlight.add(delivery);
    const finish = () => {
      this.release(deliveries);
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
        this.settlement.nack(deliveries, false);
      },
    });
    delivery.start();
  }
}

/** The attempts key of the batch's delivery at `index`, once decoded. */
function attemptsKeyAt(context: DeliveryContext, index: number): string | undefined {
  const decoded = context.decoded[index];
  return decoded === undefined ? undefined : attemptsKeyOf(decoded.key, context.deliveries[index]!.headers);
}

export function consumerLogic(options: ConsumerOptions) {
  const subscription = new QueueSubscription(options);
  const { checks } = subscription;
  return consumerMachine.provide({
    actors: {
      subscribe: fromPromise(async ({ system, signal }) => {
        subscription.attach(system as ActorSystem<never>);
        await subscription.subscribe(signal);
      }),
      verifyDependencies: fromPromise(() => checks.verify()),
      pause: fromPromise(() => subscription.pause()),
      waitForDependency: fromPromise<void, { queue: string; openings: number }>(({ signal, input }) =>
        checks.waitForDependencies(signal, input.openings),
      ),
      giveBackAttempts: fromPromise(() => checks.giveBackAttempts()),
      resume: fromPromise(() => subscription.resume()),
      widen: fromPromise(() => subscription.widen()),
      drain: fromPromise(() => subscription.drain()),
    },
  });
}
