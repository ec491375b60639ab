/**
 * `npm run bench -- --per-delivery`: the CPU one delivery costs in the runtime's own layers, with no I/O at
 * all. The delivery machine runs with instant stand-ins for the database and the broker, first bare, then
 * with each observer of the inspection stream added in turn (the log, first with its lines discarded before
 * winston, then written; the visualizer's live monitor; the metrics). It shows the floor that the state
 * machines and the observers put under every message.
 */
import { createWriteStream } from 'node:fs';
import { assign, createActor, type InspectionEvent } from 'xstate';
import { createDecoder } from '../../src/observability/decoder.js';
import { LogWriter } from '../../src/observability/log-writer.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { createObservers, type ObservedConsumer } from '../../src/observability/observers.js';
import { LiveMonitor } from '../../src/viz/live/live-monitor.js';
import { deliveryMachine, persistStep, publishStep, type Delivery } from '../../src/machines/delivery.js';

const queue = 'user_queue';
const delivery: Delivery = {
  queue,
  deliveryTag: 1,
  redelivered: false,
  messageId: 'b6f0c7a4-3f7e-4c8e-9d5a-2f3b1c4d5e6f',
  contentType: 'application/json',
  headers: {},
  content: new TextEncoder().encode('{}'),
};

/** The card service's shape: one transaction, then one outgoing message to publish. */
const logic = deliveryMachine.provide({
  actions: {
    publish: publishStep(async () => {}),
    persist: persistStep(async () => ({
      duplicates: [false],
      outgoing: [{ id: 'card' }],
      results: [undefined],
    })),
    decode: assign({ decoded: [{ key: 'user:1', message: { id: '1', name: 'Ada' } }] }),
    ack: () => {},
    nack: () => {},
  },
});

const consumers = new Map<string, ObservedConsumer>([
  [
    queue,
    {
      service: 'card',
      consumer: queue,
      queue,
      describe: { received: () => 'Processing user: 1', completed: () => 'Successfully processed user 1' },
    },
  ],
]);
const logger = createLogger('info', createWriteStream('/dev/null'));
const log = new LogWriter(logger);
/** A logger that takes every line and writes none: what the decoder and the log writer cost before winston. */
const discarding = { isLevelEnabled: () => true, log: () => discarding } as unknown as Logger;
const monitor = new LiveMonitor();

const layers: [string, ((event: InspectionEvent) => void) | undefined][] = [
  ['delivery machine alone', undefined],
  [
    '+ the decoder and the log writer, lines discarded',
    createDecoder({ consumers, listeners: [new LogWriter(discarding)] }),
  ],
  ['+ the log (inspector, winston)', createDecoder({ consumers, listeners: [log] })],
  ['+ the live monitor (/viz)', createDecoder({ consumers, listeners: [monitor, log] })],
  ['+ the metrics', createObservers({ logger, consumers, processMetrics: false }).inspect],
];

const runOne = (inspect: ((event: InspectionEvent) => void) | undefined) =>
  new Promise<void>((resolve) => {
    const actor = createActor(logic, { input: { deliveries: [delivery], maxAttempts: 5 }, inspect });
    actor.subscribe({ complete: () => resolve() });
    actor.start();
  });

async function cpuPerDelivery(inspect: ((event: InspectionEvent) => void) | undefined, count: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    await runOne(inspect);
    // A turn of the event loop now and then, as a busy process has: the log flushes its lines on each.
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The layers in alternation, `rounds` times, so that the machine's noise falls on all of them alike. */
export async function measurePerDelivery(
  count = 10_000,
  rounds = 5,
): Promise<{ layer: string; microseconds: number }[]> {
  for (const [, inspect] of layers) await cpuPerDelivery(inspect, count / 5); // warm-up
  const samples = layers.map(() => [] as number[]);
  for (let round = 0; round < rounds; round += 1) {
    for (const [index, [, inspect]] of layers.entries()) samples[index]!.push(await cpuPerDelivery(inspect, count));
  }
  return layers.map(([layer], index) => ({ layer, microseconds: Math.round(median(samples[index]!) * 10) / 10 }));
}

export function formatPerDelivery(results: { layer: string; microseconds: number }[]): string {
  const lines = ['| layers | CPU µs per delivery (median of 5 rounds) |', '|---|---|'];
  for (const { layer, microseconds } of results) lines.push(`| ${layer} | ${microseconds} |`);
  return lines.join('\n');
}
