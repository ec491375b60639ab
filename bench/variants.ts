/**
 * What is compared. Each runs on its own fresh queues and databases; by default as one process holding
 * both services (ackstate's `both` mode; each reference likewise). With `instances` > 1 (ackstate only),
 * that many `user` and that many `card` processes, competing for the same queues.
 */
import type { BenchEnvironment } from './environment.js';
import { ackstateMain } from './paths.js';
import type { BuiltScripts } from './reference-build.js';

export const variantNames = [
  'ackstate',
  'ackstate-batch1',
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

export interface Variant {
  readonly name: VariantName;
  readonly description: string;
  /** ackstate creates and migrates its own databases; the bench creates the references' (empty) ones. */
  readonly createsOwnDatabases: boolean;
  /** An ackstate process: its log and metrics are checked for every transition. */
  readonly ackstate: boolean;
  processes(scripts: BuiltScripts, environment: BenchEnvironment, instances: number): ProcessSpec[];
}

function ackstateVariant(
  name: VariantName,
  description: string,
  extraEnv: Record<string, string>,
  mainOf: (scripts: BuiltScripts) => string = () => ackstateMain,
): Variant {
  return {
    name,
    description,
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

function referenceVariant(name: VariantName, description: string, pick: (scripts: BuiltScripts) => string): Variant {
  return {
    name,
    description,
    createsOwnDatabases: false,
    ackstate: false,
    processes(scripts, environment, instances) {
      return Array.from({ length: instances }, (_, index) => ({
        label: `${name}${instances > 1 ? index : ''}`,
        script: pick(scripts),
        args: [],
        env: { ...environment.env, PREFETCH: '50', MAX_BATCH: '32', BATCH_CONCURRENCY: '2', LINGER_MS: '1' },
        servesUsers: true,
      }));
    },
  };
}

export const variants: Record<VariantName, Variant> = {
  ackstate: ackstateVariant(
    'ackstate',
    'node dist/main.js both, default settings (PREFETCH=50, MAX_BATCH=32, BATCH_CONCURRENCY=2, LOG_LEVEL=info, log to a file)',
    {},
  ),
  'ackstate-batch1': ackstateVariant(
    'ackstate-batch1',
    'node dist/main.js both with MAX_BATCH=1: every message and every user creation in a transaction (and a delivery machine) of its own; otherwise default',
    { MAX_BATCH: '1' },
  ),
  'ref-batched': referenceVariant(
    'ref-batched',
    'bench/reference/batched: node:http + amqplib + pg by hand, one process; group commit for POST /users, consumers taking what waits (prefetch 50, up to 32 per transaction, 1 ms linger, 2 transactions at once) into one multi-row transaction acked with `multiple`, confirms awaited together, relay in batches',
    (scripts) => scripts.batchedReference,
  ),
  'ref-unbatched': referenceVariant(
    'ref-unbatched',
    'bench/reference/unbatched: node:http + amqplib + pg by hand, one process, prefetch 50; one transaction per message and per user created, each publish confirmed on its own',
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
