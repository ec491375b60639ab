/**
 * Server-Sent Events for the live page. A client first gets a `snapshot` (all counts and the recent
 * deliveries), then at most one `update` per interval (250 ms by default) carrying the counts and only the
 * deliveries that changed, so the page stays readable and the stream small at 100 messages per second.
 * A client that cannot keep up is skipped until its socket drains, then sent a fresh snapshot.
 */
import type { ServerResponse } from 'node:http';
import type { LiveMonitor } from './live-monitor.js';
import type { StreamPayload } from './payload.js';

interface Client {
  readonly response: ServerResponse;
  blocked: boolean;
  needsSnapshot: boolean;
}

export interface EventStreamOptions {
  readonly intervalMs?: number;
  readonly heartbeatMs?: number;
}

export class VizEventStream {
  readonly #monitor: LiveMonitor;
  readonly #intervalMs: number;
  readonly #heartbeatMs: number;
  readonly #clients = new Set<Client>();
  #timer: NodeJS.Timeout | undefined;
  #lastBeat = 0;
  #sentMonitorVersion = -1;
  #sentRecordsVersion = 0;
  #closed = false;

  constructor(monitor: LiveMonitor, { intervalMs = 250, heartbeatMs = 15_000 }: EventStreamOptions = {}) {
    this.#monitor = monitor;
    this.#intervalMs = intervalMs;
    this.#heartbeatMs = heartbeatMs;
  }

  get clients(): number {
    return this.#clients.size;
  }

  snapshot(): StreamPayload {
    return {
      version: this.#monitor.version,
      stats: this.#monitor.stats(),
      deliveries: this.#monitor.recent.list(),
      complete: true,
    };
  }

  /** Takes over a response: writes the event-stream headers and the first snapshot. */
  attach(response: ServerResponse): void {
    if (this.#closed) {
      response.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"closing"}');
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const client: Client = { response, blocked: false, needsSnapshot: false };
    this.#clients.add(client);
    response.on('close', () => this.#clients.delete(client));
    response.on('drain', () => {
      client.blocked = false;
    });
    response.write(`retry: 2000\n\n`);
    this.#send(client, 'snapshot', this.snapshot());
    this.#start();
  }

  /** Ends every stream (before the HTTP server closes, which would otherwise wait for them). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
  }

  #start(): void {
    if (this.#timer) return;
    this.#sentMonitorVersion = this.#monitor.version;
    this.#sentRecordsVersion = this.#monitor.recent.version;
    this.#lastBeat = Date.now();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #tick(): void {
    if (this.#clients.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    for (const client of this.#clients) {
      if (client.needsSnapshot && !client.blocked) {
        client.needsSnapshot = false;
        this.#send(client, 'snapshot', this.snapshot());
      }
    }
    const version = this.#monitor.version;
    if (version !== this.#sentMonitorVersion) {
      const recordsVersion = this.#monitor.recent.version;
      const payload: StreamPayload = {
        version,
        stats: this.#monitor.stats(),
        deliveries: this.#monitor.recent.changedSince(this.#sentRecordsVersion),
        complete: false,
      };
      this.#sentMonitorVersion = version;
      this.#sentRecordsVersion = recordsVersion;
      const data = encode('update', payload);
      for (const client of this.#clients) this.#write(client, data);
      this.#lastBeat = Date.now();
    } else if (Date.now() - this.#lastBeat >= this.#heartbeatMs) {
      for (const client of this.#clients) this.#write(client, ': keep-alive\n\n');
      this.#lastBeat = Date.now();
    }
  }

  #send(client: Client, event: string, payload: StreamPayload): void {
    this.#write(client, encode(event, payload));
  }

  #write(client: Client, data: string): void {
    if (client.blocked) {
      // It missed this update: it gets a whole snapshot once it has drained.
      client.needsSnapshot = true;
      return;
    }
    if (!client.response.write(data)) client.blocked = true;
  }
}

function encode(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
}
