import winston from 'winston';
import { redact } from '../redact.js';

/** Connection URLs carry passwords: every string field of every line passes through `redact`. */
const redactSecrets = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (typeof value === 'string' && /:\/\/|password=/i.test(value)) (info as Record<string, unknown>)[key] = redact(value);
  }
  return info;
});

export type Logger = winston.Logger;

export function createLogger(level: string, stream: NodeJS.WritableStream = process.stdout): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(redactSecrets(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
}
