/**
 * What is compared. Each runs as one process holding both services (ackstate's `both` mode; the
 * reference likewise), on its own fresh queues and databases.
 */
import { ackstateMain } from './paths.js';
import type { BenchEnvironment } from './environment.js';

export type VariantName = 'ackstate' | 'reference' | 'unbatched' | 'seed';

export interface Variant {
  readonly name: VariantName;
  readonly description: string;
  /** The bench creates the databases (the reference); ackstate creates and migrates its own. */
  readonly createsOwnDatabases: boolean;
  script(referenceMain: string): string;
  readonly args: readonly string[];
  env(environment: BenchEnvironment): Record<string, string>;
}

export const variants: Record<VariantName, Variant> = {
  ackstate: {
    name: 'ackstate',
    description: 'node dist/main.js both, default settings (PREFETCH=50, LOG_LEVEL=info, log to a file)',
    createsOwnDatabases: true,
    script: () => ackstateMain,
    args: ['both'],
    env: (environment) => ({ ...environment.env, LOG_LEVEL: 'info' }),
  },
  reference: {
    name: 'reference',
    description: 'bench/reference: node:http + amqplib + pg by hand, one process, PREFETCH=50',
    createsOwnDatabases: false,
    script: (referenceMain) => referenceMain,
    args: [],
    env: (environment) => ({ ...environment.env, PREFETCH: '50' }),
  },
  unbatched: {
    name: 'unbatched',
    description:
      'node dist/main.js both with MAX_BATCH=1: every message and every user creation in a transaction (and a delivery machine) of its own, as the reference does; otherwise default',
    createsOwnDatabases: true,
    script: () => ackstateMain,
    args: ['both'],
    env: (environment) => ({ ...environment.env, LOG_LEVEL: 'info', MAX_BATCH: '1' }),
  },
  seed: {
    name: 'seed',
    description: "node dist/main.js both with PREFETCH=1 (the seed's setting), otherwise default",
    createsOwnDatabases: true,
    script: () => ackstateMain,
    args: ['both'],
    env: (environment) => ({ ...environment.env, LOG_LEVEL: 'info', PREFETCH: '1' }),
  },
};
