/**
 * The JSON log. Every transition of every delivery is a line at the default level, so a line must be cheap:
 * one format step (redact, timestamp, serialise) instead of a chain, and the lines of one turn of the event
 * loop leave in one write instead of one system call each. Lines still buffered when the process exits are
 * written synchronously on the way out.
 */
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { redact } from '../redact.js';

/** winston's base class for transports (its typings export the module, not the class). */
const Transport = (winston as unknown as { Transport: typeof TransportStream }).Transport;

/** Where winston's formats leave the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

/** A winston logger: what `RuntimeOptions.logger` takes and `createLogger` makes. */
export type Logger = winston.Logger;

/** Connection URLs carry passwords: every string field of a line that may hold one passes through `redact`. */
const mayHoldSecret = /:\/\/|password=/i;
const fallbackJson = winston.format.json();

/**
 * The ISO timestamp of the current millisecond: lines written in the same millisecond share one string, and
 * only a new second is formatted by `Date` (the milliseconds are appended to its cached text).
 */
let stampedAt = 0;
let stamp = '';
let secondAt = -1;
let secondText = '';
function timestamp(): string {
  const now = Date.now();
  if (now !== stampedAt) {
    stampedAt = now;
    const second = now - (now % 1000);
    if (second !== secondAt) {
      secondAt = second;
      secondText = new Date(second).toISOString().slice(0, 20); // up to and including the '.'
    }
    stamp = `${secondText}${String(now % 1000).padStart(3, '0')}Z`;
  }
  return stamp;
}

function redactFields(line: Record<string, unknown>): void {
  for (const key in line) {
    const value = line[key];
    if (typeof value === 'string' && mayHoldSecret.test(value)) line[key] = redact(value);
  }
}

// The line is serialised first and checked once: only a line that may hold a secret is redacted field by field
// and serialised again (JSON.stringify escapes neither `://` nor `password=`, so a field holding one shows in the line).
const jsonLine = winston.format((info) => {
  const line = info as Record<string, unknown>;
  line.timestamp = timestamp();
  try {
    let text = JSON.stringify(line);
    if (mayHoldSecret.test(text)) {
      redactFields(line);
      text = JSON.stringify(line);
    }
    (info as Record<symbol, unknown>)[MESSAGE] = text;
  } catch {
    // A cycle or a BigInt: logform's safe serialiser copes with both.
    redactFields(line);
    fallbackJson.transform(info, {});
  }
  return info;
});

const unflushed = new Set<BatchedStreamTransport>();
let exitHooked = false;

/** Writes the lines of one event-loop turn to the stream in one write. */
class BatchedStreamTransport extends Transport {
  readonly #stream: NodeJS.WritableStream;
  #lines: string[] = [];
  #scheduled = false;

  constructor(stream: NodeJS.WritableStream) {
    super();
    this.#stream = stream;
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => unflushed.forEach((transport) => transport.flush()));
    }
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.#lines.push(info[MESSAGE] as string);
    if (!this.#scheduled) {
      this.#scheduled = true;
      unflushed.add(this);
      setImmediate(this.flush);
    }
    next();
  }

  readonly flush = (): void => {
    this.#scheduled = false;
    unflushed.delete(this);
    if (this.#lines.length === 0) return;
    const text = `${this.#lines.join('\n')}\n`;
    this.#lines = [];
    this.#stream.write(text);
  };

  override close(): void {
    this.flush();
  }
}

/**
 * A JSON logger at `level` (winston's levels, `error` to `silly`): one line per entry on `stream` (stdout when
 * omitted), with passwords in URLs redacted.
 */
export function createLogger(level: string, stream: NodeJS.WritableStream = process.stdout): Logger {
  const transport = new BatchedStreamTransport(stream);
  const logger = winston.createLogger({ level, format: jsonLine(), transports: [transport] });
  // `logger.end()` (on shutdown) finishes the transports: nothing may stay behind in the batch.
  logger.on('finish', transport.flush);
  return logger;
}
