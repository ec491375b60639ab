/**
 * What is compared. Each runs on its own fresh queues and databases; by default as one process holding
 * both services (ackstate's `both` mode; each reference likewise). With `instances` > 1 (ackstate only),
 * that many `user` and that many `card` processes, competing for the same queues.
 */
import { defaultConsumerSettings } from '../../src/api/settings.js';
import type { BenchEnvironment } from '../harness/environment.js';
import { ackstateMain } from '../harness/paths.js';
import type { BuiltScripts } from '../harness/reference-build.js';

export const variantNames = [
  'ackstate',
  'ackstate-best',
  'ackstate-batch1',
  'ref-limit',
  'ref-batched',
  'ref-unbatched',
  'seed',
  'baseline',
  'baseline-batch1',
] as const;
export type VariantName = (typeof variantNames)[number];

export interface ProcessSpec {
  readonly label: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  /** Serves POST /users (the load goes to these). */
  readonly servesUsers: boolean;
}

/** The batching settings ackstate reads, and the batched reference reads by the same names. */
export interface BatchSettings {
  readonly PREFETCH: number;
  readonly MAX_BATCH: number;
  readonly BATCH_CONCURRENCY: number;
  /** The batched reference only (ackstate has no linger: a batch starts with what waits). */
  readonly LINGER_MS?: number;
}

/** ackstate's batching defaults (`defaultConsumerSettings`, which src/app/config.ts follows). */
const ackstateDefaultBatching: BatchSettings = {
  PREFETCH: defaultConsumerSettings.prefetch,
  MAX_BATCH: defaultConsumerSettings.maxBatch,
  BATCH_CONCURRENCY: defaultConsumerSettings.batchConcurrency,
};
/** ackstate's defaults with the reference's 1 ms linger: `ref-batched` runs the reference at these. */
export const ackstateDefaults: BatchSettings = { ...ackstateDefaultBatching, LINGER_MS: 1 };

/**
 * `ref-limit`: the batched reference at the best settings of its own sweep (`npm run bench -- --sweep ref`,
 * docs/benchmarks.md#the-limit), tuned for throughput and not held to ackstate's settings.
 */
export const refLimitSettings: BatchSettings = { PREFETCH: 256, MAX_BATCH: 64, BATCH_CONCURRENCY: 3, LINGER_MS: 1 };

/** `ackstate-best`: ackstate at the best settings of its sweep (`npm run bench -- --sweep ackstate`). */
export const ackstateBestSettings: BatchSettings = { PREFETCH: 256, MAX_BATCH: 128, BATCH_CONCURRENCY: 4 };

export const describeSettings = (settings: BatchSettings) =>
  Object.entries(settings)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(' ');

/** The environment a settings object gives a process. */
export const settingsEnv = (settings: BatchSettings): Record<string, string> =>
  Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, String(value)]));

export interface Variant {
  /** A name of `variantNames`, or a point of a sweep (`ackstate p256 b64 c2`). */
  readonly name: string;
  /** The settings of a batched variant (ackstate's or the batched reference's), for sweeps and charts. */
  readonly settings?: BatchSettings;
  readonly description: string;
  /** ackstate creates and migrates its own databases; the bench creates the references' (empty) ones. */
  readonly createsOwnDatabases: boolean;
  /** An ackstate process: its log and metrics are checked for every transition. */
  readonly ackstate: boolean;
  processes(scripts: BuiltScripts, environment: BenchEnvironment, instances: number): ProcessSpec[];
}

export function ackstateVariant(
  name: string,
  description: string,
  extraEnv: Record<string, string>,
  mainOf: (scripts: BuiltScripts) => string = () => ackstateMain,
  settings?: BatchSettings,
): Variant {
  return {
    name,
    description,
    ...(settings && { settings }),
    createsOwnDatabases: true,
    ackstate: true,
    processes(scripts, environment, instances) {
      const env = { ...environment.env, LOG_LEVEL: 'info', ...extraEnv };
      const main = mainOf(scripts);
      if (instances === 1) return [{ label: name, script: main, args: ['both'], env, servesUsers: true }];
      return Array.from({ length: instances }, (_, index) => [
        { label: `${name}-user${index}`, script: main, args: ['user'], env, servesUsers: true },
        { label: `${name}-card${index}`, script: main, args: ['card'], env, servesUsers: false },
      ]).flat();
    },
  };
}

/** The `--baseline` checkout's dist/main.js: the same pipeline, built from other code, for an A/B in one run. */
function baselineMain(scripts: BuiltScripts): string {
  if (scripts.baselineMain === undefined) throw new Error('the baseline variants need --baseline DIR');
  return scripts.baselineMain;
}

export function referenceVariant(
  name: string,
  description: string,
  pick: (scripts: BuiltScripts) => string,
  settings: BatchSettings = ackstateDefaults,
): Variant {
  return {
    name,
    description,
    settings,
    createsOwnDatabases: false,
    ackstate: false,
    processes(scripts, environment, instances) {
      return Array.from({ length: instances }, (_, index) => ({
        label: `${name}${instances > 1 ? index : ''}`,
        script: pick(scripts),
        args: [],
        env: { ...environment.env, ...settingsEnv(settings) },
        servesUsers: true,
      }));
    },
  };
}

export const variants: Record<VariantName, Variant> = {
  ackstate: ackstateVariant(
    'ackstate',
    `node dist/main.js both, default settings (${describeSettings(ackstateDefaultBatching)} LOG_LEVEL=info, log to a file)`,
    {},
    undefined,
    ackstateDefaultBatching,
  ),
  'ackstate-batch1': ackstateVariant(
    'ackstate-batch1',
    'node dist/main.js both with MAX_BATCH=1: every message and every user creation in a transaction (and a delivery machine) of its own; otherwise default',
    { MAX_BATCH: '1' },
  ),
  'ackstate-best': ackstateVariant(
    'ackstate-best',
    `node dist/main.js both at the best settings of ackstate's sweep (${describeSettings(ackstateBestSettings)}), otherwise default`,
    settingsEnv(ackstateBestSettings),
    undefined,
    ackstateBestSettings,
  ),
  'ref-limit': referenceVariant(
    'ref-limit',
    `the limit: bench/reference/batched tuned for throughput, the best of its sweep (${describeSettings(refLimitSettings)})`,
    (scripts) => scripts.batchedReference,
    refLimitSettings,
  ),
  'ref-batched': referenceVariant(
    'ref-batched',
    `bench/reference/batched at ackstate's defaults (${describeSettings(ackstateDefaults)}): node:http + amqplib + pg by hand, one process; group commit for POST /users, consumers taking what waits into one multi-row transaction acked with \`multiple\`, confirms awaited together, relay in batches`,
    (scripts) => scripts.batchedReference,
  ),
  'ref-unbatched': referenceVariant(
    'ref-unbatched',
    `bench/reference/unbatched: node:http + amqplib + pg by hand, one process, PREFETCH=${ackstateDefaults.PREFETCH}; one transaction per message and per user created, each publish confirmed on its own`,
    (scripts) => scripts.unbatchedReference,
  ),
  seed: ackstateVariant('seed', "node dist/main.js both with PREFETCH=1 (the seed's setting), otherwise default", {
    PREFETCH: '1',
  }),
  baseline: ackstateVariant(
    'baseline',
    "the --baseline checkout's dist/main.js both, default settings: ackstate as another commit built it",
    {},
    baselineMain,
  ),
  'baseline-batch1': ackstateVariant(
    'baseline-batch1',
    "the --baseline checkout's dist/main.js both with MAX_BATCH=1",
    { MAX_BATCH: '1' },
    baselineMain,
  ),
};
