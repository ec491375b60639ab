/**
 * Publishes one message at a time on a confirm channel with `mandatory` set, and settles it only when
 * the broker has confirmed it and has not returned it. One at a time, so that a `basic.return` (which
 * names no delivery tag, and arrives before the confirm) belongs to the one message in flight; several
 * dead letters may share a message id, so the id could not tell them apart.
 */
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { describeError } from '../policies/describe-error.js';
import type { ReplayPublication } from './replay-message.js';

export class PublishFailedError extends Error {
  override name = 'PublishFailedError';
  /** When true the channel is unusable or the outcome unknown: publishing more would not help. */
  constructor(
    message: string,
    readonly stopsTheRun: boolean,
  ) {
    super(message);
  }
}

export class ConfirmedPublisher {
  readonly #channel: ConfirmChannel;
  readonly #timeoutMs: number;
  #returned = false;
  #closed: string | undefined;
  #inFlight = false;

  private constructor(channel: ConfirmChannel, timeoutMs: number) {
    this.#channel = channel;
    this.#timeoutMs = timeoutMs;
    channel.on('return', () => {
      this.#returned = true;
    });
    channel.on('error', (error: unknown) => {
      this.#closed = describeError(error);
    });
    channel.on('close', () => {
      this.#closed ??= 'the channel closed';
    });
  }

  static async open(connection: ChannelModel, timeoutMs: number): Promise<ConfirmedPublisher> {
    return new ConfirmedPublisher(await connection.createConfirmChannel(), timeoutMs);
  }

  publish(publication: ReplayPublication): Promise<void> {
    if (this.#closed !== undefined) return Promise.reject(new PublishFailedError(this.#closed, true));
    if (this.#inFlight) return Promise.reject(new Error('ConfirmedPublisher publishes one message at a time'));
    this.#inFlight = true;
    this.#returned = false;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: PublishFailedError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#inFlight = false;
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(
        () => settle(new PublishFailedError(`no confirm within ${this.#timeoutMs} ms (the outcome is unknown)`, true)),
        this.#timeoutMs,
      );
      const onConfirm = (error: unknown) => {
        if (error instanceof Error && error.message === 'message nacked') {
          settle(new PublishFailedError('the broker refused it (nack)', false));
        } else if (error) {
          settle(new PublishFailedError(this.#closed ?? describeError(error), true));
        } else if (this.#returned) {
          settle(new PublishFailedError(`unroutable: no queue ${publication.queue} (the broker returned it)`, false));
        } else {
          settle();
        }
      };
      try {
        this.#channel.publish('', publication.queue, publication.content, publication.options, onConfirm);
      } catch (error) {
        settle(new PublishFailedError(describeError(error), true));
      }
    });
  }

  async close(): Promise<void> {
    await this.#channel.close().catch(() => {});
  }
}
