/** `npm run bench -- [options]`: the command line and its defaults. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly users: number;
  readonly concurrency: number;
  readonly seedUsers: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly pollMs: number;
  readonly halfRateSeconds: number;
  readonly memory: boolean;
  readonly memorySmall: number;
  readonly memoryLarge: number;
  readonly profile: boolean;
  readonly perDelivery: boolean;
  readonly keepLogs: boolean;
  readonly only: readonly string[];
  readonly out: string;
}

export const usage = `npm run bench -- [options]
  --users N            users per measured run of ackstate and the reference (default 2000)
  --concurrency C      concurrent HTTP clients in the closed loop (default 32)
  --seed-users N       users per run of the seed setting, PREFETCH=1 (default 300)
  --rounds R           rounds of ackstate / reference / seed, in alternation; medians reported (default 3)
  --warmup N           users created before each measured run, not counted (default 200)
  --poll-ms MS         interval of the batched query that notices stored cards (default 20)
  --half-rate-seconds S  length of the open-loop runs at half of ackstate's peak (default 15; 0 skips)
  --only LIST          comma-separated subset of ackstate,reference,unbatched,seed (default all four)
  --memory             only the memory check: RSS after --memory-small vs --memory-large users (5000, 50000)
  --profile            one run each of ackstate and the reference under node --cpu-prof; prints top self times
  --per-delivery       only the CPU one delivery costs in the machine, the log, the live monitor and the metrics (no I/O)
  --keep-logs          keep the service logs (their paths are in the JSON)
  --out FILE           where the JSON goes (default bench/results/latest.json; memory: memory.json, profile: profile.json)`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '32' },
      'seed-users': { type: 'string', default: '300' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '200' },
      'poll-ms': { type: 'string', default: '20' },
      'half-rate-seconds': { type: 'string', default: '15' },
      memory: { type: 'boolean', default: false },
      'memory-small': { type: 'string', default: '5000' },
      'memory-large': { type: 'string', default: '50000' },
      profile: { type: 'boolean', default: false },
      'per-delivery': { type: 'boolean', default: false },
      'keep-logs': { type: 'boolean', default: false },
      only: { type: 'string', default: 'ackstate,reference,unbatched,seed' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const count = (name: keyof typeof values, minimum = 1) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < minimum) {
      console.error(`bench: --${name} must be an integer ≥ ${minimum}, got "${String(values[name])}"\n\n${usage}`);
      process.exit(2);
    }
    return value;
  };
  const only = values.only
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = only.filter((name) => !['ackstate', 'reference', 'unbatched', 'seed'].includes(name));
  if (unknown.length > 0) {
    console.error(`bench: --only takes ackstate, reference, seed; got ${unknown.join(', ')}`);
    process.exit(2);
  }
  const memory = values.memory;
  const profile = values.profile;
  return {
    users: count('users'),
    concurrency: count('concurrency'),
    seedUsers: count('seed-users'),
    rounds: count('rounds'),
    warmup: count('warmup', 0),
    pollMs: count('poll-ms'),
    halfRateSeconds: count('half-rate-seconds', 0),
    memory,
    memorySmall: count('memory-small'),
    memoryLarge: count('memory-large'),
    profile,
    perDelivery: values['per-delivery'],
    keepLogs: values['keep-logs'],
    only,
    out: values.out ?? `bench/results/${memory ? 'memory' : profile ? 'profile' : 'latest'}.json`,
  };
}
