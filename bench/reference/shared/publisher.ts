/** One confirm channel; persistent, mandatory publishes; sent means confirmed and not returned. */
import type { ConfirmChannel, Message } from 'amqplib';

export class Publisher {
  private channel: ConfirmChannel | undefined;
  private readonly returned = new Set<string>();

  attach(channel: ConfirmChannel): void {
    channel.on('return', (message: Message) => {
      const id = message.properties.messageId as unknown;
      if (typeof id === 'string') this.returned.add(id);
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
    this.channel = channel;
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  publish(queue: string, messageId: string, body: string | Buffer, headers?: Record<string, unknown>): Promise<void> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no confirm for ${messageId}`)), 5_000);
      const options = {
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        messageId,
        timestamp: Math.floor(Date.now() / 1000),
        headers,
      };
      channel.publish('', queue, typeof body === 'string' ? Buffer.from(body) : body, options, (error: unknown) => {
        clearTimeout(timer);
        if (this.returned.delete(messageId)) reject(new Error(`${queue} returned ${messageId}`));
        else if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve();
      });
    });
  }
}
