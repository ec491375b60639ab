#!/usr/bin/env node
/**
 * node dist/main.js [both|user|card]
 * Runs both services in one process (the default) or one of them. SIGTERM and SIGINT stop consuming,
 * let in-flight deliveries finish, close the connections and exit 0.
 */
import { createLogger, redact, startRuntime } from 'ackstate';
import { ConfigError, loadConfig } from './app/config.js';
import { modes, runtimeOptions, servicesFor, type Mode } from './app/system.js';

const mode = (process.argv[2] ?? 'both') as Mode;
if (!modes.includes(mode)) {
  process.stderr.write(`usage: node dist/main.js [${modes.join('|')}] (got "${process.argv[2]}")\n`);
  process.exit(2);
}

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`ackstate: ${redact(error.message)}\n`);
    process.exit(1);
  }
  throw error;
}

const logger = createLogger(config.LOG_LEVEL);
process.on('unhandledRejection', (reason) => {
  logger.error('unhandled rejection', {
    error: redact(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)),
  });
});

try {
  const system = await startRuntime(runtimeOptions(config, servicesFor(mode, config), logger));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    system.stop().then(
      () => {
        logger.info('stopped', { signal });
        logger.on('finish', () => process.exit(0));
        logger.end();
      },
      (error: unknown) => {
        logger.error('stop failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  logger.error('start-up failed', { error: redact(error instanceof Error ? error.message : String(error)) });
  logger.on('finish', () => process.exit(1));
  logger.end();
}
