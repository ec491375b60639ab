/** `npm run bench -- [options]`: the command line and its defaults. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { variantNames, type VariantName } from './variants.js';

export interface BenchOptions {
  readonly users: number;
  readonly connections: number;
  readonly seedUsers: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly pollMs: number;
  readonly halfRateSeconds: number;
  /** Open-loop runs at 50 users/s, ackstate and ref-limit (0 skips). */
  readonly lowRateSeconds: number;
  /** `--sweep ackstate|ref`: a grid of batch settings instead of the variants. */
  readonly sweep: 'ackstate' | 'ref' | undefined;
  readonly sweepGrid: {
    readonly prefetch: readonly number[];
    readonly maxBatch: readonly number[];
    readonly concurrency: readonly number[];
    readonly linger: readonly number[];
  };
  readonly statementsUsers: number;
  readonly only: readonly VariantName[];
  readonly instances: readonly number[] | undefined;
  readonly soak: number | undefined;
  readonly soakRate: number;
  readonly profile: boolean;
  readonly allocations: boolean;
  readonly perDelivery: boolean;
  /** `--actors`: a durable actor's event beside a plain handler's (modes/actor-cost.ts). */
  readonly actors: boolean;
  readonly keepLogs: boolean;
  /** Node flags given to every variant's processes alike (for example a larger young generation). */
  readonly nodeFlags: readonly string[];
  /** `--baseline-env`: environment for the baseline variants' processes only. */
  readonly baselineEnv: Readonly<Record<string, string>>;
  /** A built checkout of ackstate (its dist/main.js) that the baseline variants run, and its commit. */
  readonly baseline: { readonly dir: string; readonly commit: string } | undefined;
  readonly out: string;
}

const defaultVariants = 'ackstate,ackstate-best,ackstate-batch1,ref-limit,ref-batched,ref-unbatched';
const baselineVariants = 'baseline,ackstate,baseline-batch1,ackstate-batch1';

export const usage = `npm run bench -- [options]
  --users N              users per measured closed-loop run (default 2000)
  --connections C        wrk connections in the closed loop (default 32)
  --rounds R             rounds of the variants, in alternation; medians reported (default 3)
  --warmup N             users created before each measured run, not counted (default 3000: enough for V8 to
                         have compiled the hot code; with 200, half of the measured CPU was compilation)
  --poll-ms MS           interval of the row-count poll that notices the last card (default 50)
  --half-rate-seconds S  open-loop runs at half of ref-limit's peak (ackstate's without ref-limit), ackstate and
                         ref-limit (ref-batched without it) (default 15; 0 skips)
  --low-rate-seconds S   open-loop runs at 50 users/s, ackstate and ref-limit (default 10; 0 skips)
  --statements-users N   users of the statements pass, one run per variant through a counting proxy (default 300; 0 skips)
  --only LIST            comma-separated subset of ${variantNames.join(',')} (default ${defaultVariants})
  --seed                 adds the seed setting (ackstate with PREFETCH=1; slow) to the variants
  --seed-users N         users per run of the seed setting (default 300)
  --instances LIST       instead: ackstate at 1, 2, 4… instances of each service (e.g. 1,2,4), --rounds each
  --sweep ackstate|ref   instead: a grid of batch settings, every point a variant, in alternating rounds with the
                         reference of the sweep (ackstate's: ref-limit; the reference's: ref-batched, at
                         ackstate's defaults); writes bench/results/sweep-ackstate.json or sweep-ref.json
  --sweep-prefetch LIST  the grid's PREFETCH values (default 50,256)
  --sweep-batch LIST     the grid's MAX_BATCH values (default 8,32,64,128)
  --sweep-concurrency L  the grid's BATCH_CONCURRENCY values (default 2,4)
  --sweep-linger LIST    the grid's LINGER_MS values, the reference only (default 0)
  --soak N               instead: N users (e.g. 500000) at a steady rate with retention on
  --soak-rate R          users/s of the soak (default 300)
  --profile              one run of each variant with V8's CPU profiler over its measured users (with --only, e.g. ackstate,ref-batched); prints busy time by layer and top self times
  --allocations          one run of each variant with every allocation of its measured users sampled; prints KiB per user by package
  --per-delivery         only the CPU one delivery costs in the machine, the log, the live monitor and the metrics (no I/O)
  --actors               only a durable actor's event beside a plain handler's: CPU per message, this process and the machine
  --keep-logs            keep the service logs (their paths are in the JSON)
  --node-flags=FLAGS     node flags for every variant's processes alike, space-separated, after an = sign
                         (e.g. --node-flags=--max-semi-space-size=32); default none
  --baseline-env=K=V,…   environment for the baseline variants only, comma-separated, after an = sign
                         (e.g. --baseline /path/to/this/checkout --baseline-env=LOG_LEVEL=warn: what the log costs)
  --baseline DIR         a built checkout of ackstate (npm run build there), run as the variants baseline and
                         baseline-batch1 beside this one's, for an A/B in one run (default --only
                         baseline,ackstate,baseline-batch1,ackstate-batch1; writes bench/results/baseline.json)
  --out FILE             where the JSON goes (default bench/results/latest.json; instances.json, soak.json, profile.json, allocations.json)
Render the tables of bench/results/latest.json (and instances.json, soak.json, profile.json, allocations.json, baseline.json if present) into docs/benchmarks.md: npm run bench:docs`;

function fail(message: string): never {
  console.error(`bench: ${message}\n\n${usage}`);
  process.exit(2);
}

/** The checkout `--baseline` names, which must hold a build (dist/main.js), and the commit it has out. */
function baselineOf(dir: string): { dir: string; commit: string } {
  const absolute = path.resolve(dir);
  if (!existsSync(path.join(absolute, 'dist/main.js'))) {
    fail(
      `--baseline ${dir}: no dist/main.js there; check out the commit to compare with and run npm ci && npm run build in it`,
    );
  }
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['-C', absolute, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout: the directory alone names it
  }
  return { dir: absolute, commit };
}

function integer(name: string, text: string | undefined, minimum: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) fail(`--${name} must be an integer ≥ ${minimum}, got "${text}"`);
  return value;
}

function integerList(name: string, text: string): number[] {
  return text.split(',').map((part) => integer(name, part.trim(), 1));
}

function variantList(text: string, withSeed: boolean, baseline: object | undefined): VariantName[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !(variantNames as readonly string[]).includes(name));
  if (unknown.length > 0) fail(`--only takes ${variantNames.join(', ')}; got ${unknown.join(', ')}`);
  const chosen = names as VariantName[];
  if (baseline === undefined && chosen.some((name) => name.startsWith('baseline'))) {
    fail('the baseline variants need --baseline DIR');
  }
  return withSeed && !chosen.includes('seed') ? [...chosen, 'seed'] : chosen;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string', default: '2000' },
      connections: { type: 'string', default: '32' },
      'seed-users': { type: 'string', default: '300' },
      rounds: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '3000' },
      'poll-ms': { type: 'string', default: '50' },
      'half-rate-seconds': { type: 'string', default: '15' },
      'low-rate-seconds': { type: 'string', default: '10' },
      sweep: { type: 'string' },
      'sweep-prefetch': { type: 'string', default: '50,256' },
      'sweep-batch': { type: 'string', default: '8,32,64,128' },
      'sweep-concurrency': { type: 'string', default: '2,4' },
      'sweep-linger': { type: 'string', default: '0' },
      'statements-users': { type: 'string', default: '300' },
      only: { type: 'string' },
      seed: { type: 'boolean', default: false },
      instances: { type: 'string' },
      soak: { type: 'string' },
      'soak-rate': { type: 'string', default: '300' },
      profile: { type: 'boolean', default: false },
      allocations: { type: 'boolean', default: false },
      'per-delivery': { type: 'boolean', default: false },
      actors: { type: 'boolean', default: false },
      'keep-logs': { type: 'boolean', default: false },
      'node-flags': { type: 'string', default: '' },
      'baseline-env': { type: 'string', default: '' },
      baseline: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const instances = values.instances === undefined ? undefined : integerList('instances', values.instances);
  const soak = values.soak === undefined ? undefined : integer('soak', values.soak, 1000);
  const baseline = values.baseline === undefined ? undefined : baselineOf(values.baseline);
  const sweep = values.sweep;
  if (sweep !== undefined && sweep !== 'ackstate' && sweep !== 'ref')
    fail(`--sweep takes ackstate or ref, got ${sweep}`);
  const mode =
    sweep !== undefined
      ? `sweep-${sweep}`
      : soak !== undefined
        ? 'soak'
        : instances
          ? 'instances'
          : values.profile
            ? 'profile'
            : values.allocations
              ? 'allocations'
              : baseline !== undefined
                ? 'baseline'
                : 'latest';
  return {
    users: integer('users', values.users, 1),
    connections: integer('connections', values.connections, 1),
    seedUsers: integer('seed-users', values['seed-users'], 1),
    rounds: integer('rounds', values.rounds, 1),
    warmup: integer('warmup', values.warmup, 0),
    pollMs: integer('poll-ms', values['poll-ms'], 1),
    halfRateSeconds: integer('half-rate-seconds', values['half-rate-seconds'], 0),
    lowRateSeconds: integer('low-rate-seconds', values['low-rate-seconds'], 0),
    sweep,
    sweepGrid: {
      prefetch: integerList('sweep-prefetch', values['sweep-prefetch']),
      maxBatch: integerList('sweep-batch', values['sweep-batch']),
      concurrency: integerList('sweep-concurrency', values['sweep-concurrency']),
      linger: values['sweep-linger'].split(',').map((part) => integer('sweep-linger', part.trim(), 0)),
    },
    statementsUsers: integer('statements-users', values['statements-users'], 0),
    only: variantList(values.only ?? (baseline ? baselineVariants : defaultVariants), values.seed, baseline),
    instances,
    soak,
    soakRate: integer('soak-rate', values['soak-rate'], 1),
    profile: values.profile,
    allocations: values.allocations,
    perDelivery: values['per-delivery'],
    actors: values.actors,
    keepLogs: values['keep-logs'],
    nodeFlags: values['node-flags'].split(/\s+/).filter((flag) => flag !== ''),
    baselineEnv: environmentOf('baseline-env', values['baseline-env']),
    baseline,
    out: values.out ?? `bench/results/${mode}.json`,
  };
}

/** `K=V,K2=V2` as an environment; a pair without a name or an `=` stops the bench with a message. */
function environmentOf(option: string, text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(',').filter((each) => each.trim() !== '')) {
    const at = pair.indexOf('=');
    const name = pair.slice(0, at).trim();
    if (at < 1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`--${option}: "${pair}" is not NAME=value`);
    env[name] = pair.slice(at + 1);
  }
  return env;
}
