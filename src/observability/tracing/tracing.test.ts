import test from 'ava';
import type { Logger } from '../logger.js';
import { startTracing } from './tracing.js';

function recordingLogger() {
  const lines: { level: string; message: string; meta: unknown }[] = [];
  const at = (level: string) => (message: string, meta?: unknown) => void lines.push({ level, message, meta });
  const logger = { warn: at('warn'), info: at('info'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

test('off, there is no tracing and nothing is logged', async (t) => {
  const { logger, lines } = recordingLogger();
  t.is(await startTracing({ env: {}, services: ['user'], logger }), undefined);
  t.deepEqual(lines, []);
});

test('a setting that cannot be followed is logged, and tracing stays off when nothing else asks for it', async (t) => {
  const { logger, lines } = recordingLogger();
  t.is(await startTracing({ env: { OTEL_TRACES_EXPORTER: 'zipkin' }, services: ['user'], logger }), undefined);
  t.deepEqual(lines, [
    {
      level: 'warn',
      message: 'tracing setting ignored',
      meta: { problem: 'OTEL_TRACES_EXPORTER: exporter "zipkin" is not supported (otlp, console or none)' },
    },
  ]);
});
