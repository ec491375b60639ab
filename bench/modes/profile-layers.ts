/**
 * Where a pipeline's CPU goes, by layer: each sample of a V8 CPU profile is given to the first layer whose
 * rule matches it (its own frame, or for the observers any frame below it on the stack), so that the layers
 * add up to the busy time and an ackstate profile and a reference's compare row by row.
 */

export interface ProfileFrame {
  readonly functionName: string;
  readonly url: string;
}

export interface LayerTime {
  readonly layer: string;
  readonly ms: number;
}

/** Socket and file writes: the kernel's work, and the time the process waits to be scheduled again. */
const writes = new Set(['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String']);
/** Loading the program: module resolution, reading and compiling sources. */
const loading =
  /^(compileSourceTextModule|wrapSafe|readFileUtf8|internalModuleStat|fstat|lstat|openFileHandle|compileForInternalLoader|realpathSync|close|__require|getSource|_link|instantiate)$/;

const packageOf = (url: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

const httpPackages = new Set([
  'fastify',
  'find-my-way',
  'avvio',
  'light-my-request',
  'secure-json-parse',
  'fast-json-stringify',
  '@fastify/ajv-compiler',
  '@fastify/error',
  'ajv',
]);
const databasePackages = new Set(['kysely', 'pg', 'pg-protocol', 'pg-pool', 'pg-types', 'postgres-array']);
const brokerPackages = new Set(['amqplib', 'amqp-connection-manager', 'buffer-more-ints', 'url-parse']);

type Rule = readonly [layer: string, matches: (leaf: ProfileFrame, stack: readonly ProfileFrame[]) => boolean];

const rules: readonly Rule[] = [
  ['garbage collection', (leaf) => leaf.functionName === '(garbage collector)'],
  ['socket writes (kernel)', (leaf) => writes.has(leaf.functionName)],
  ['loading the program', (leaf) => loading.test(leaf.functionName)],
  // The listeners run inside xstate's inspection callback: everything they call is theirs.
  [
    'inspection listeners (log, live view, metrics, traces)',
    (_, stack) => stack.some((frame) => /\/dist\/(observability|viz\/live)\//.test(frame.url)),
  ],
  ['state machines (xstate)', (leaf) => packageOf(leaf.url) === 'xstate'],
  ['HTTP (fastify, node:http)', (leaf) => httpPackages.has(packageOf(leaf.url) ?? '') || /^node:_http_/.test(leaf.url)],
  ['validation (zod)', (leaf) => packageOf(leaf.url) === 'zod'],
  [
    'database client (kysely, pg)',
    (leaf) => databasePackages.has(packageOf(leaf.url) ?? '') || leaf.url.includes('/dist/db/'),
  ],
  [
    'broker client (amqplib, amqp-connection-manager)',
    (leaf) => brokerPackages.has(packageOf(leaf.url) ?? '') || leaf.url.includes('/dist/actors/broker/'),
  ],
  [
    'runtime and application code',
    (leaf) => leaf.url.includes('/dist/') || leaf.url.includes('ackstate-bench/reference/'),
  ],
  ['other packages', (leaf) => packageOf(leaf.url) !== undefined],
];

/** The layer of one sample, given its frame and the frames below it (its callers, nearest first). */
export function layerOf(leaf: ProfileFrame, callers: readonly ProfileFrame[]): string {
  const stack = [leaf, ...callers];
  return rules.find(([, matches]) => matches(leaf, stack))?.[0] ?? 'node internals, promises, timers';
}

interface Node {
  readonly id: number;
  readonly callFrame: ProfileFrame;
  readonly children?: readonly number[];
}

/** Busy milliseconds by layer (idle and V8's `(program)` left out), largest first. */
export function layersOf(profile: {
  readonly nodes: readonly Node[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}): LayerTime[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, index) =>
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000),
  );
  const byLayer = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === '(idle)' || leaf.functionName === '(program)') continue;
    const callers: ProfileFrame[] = [];
    for (let parent = parentOf.get(id); parent !== undefined; parent = parentOf.get(parent)) {
      callers.push(byId.get(parent)!.callFrame);
    }
    const layer = layerOf(leaf, callers);
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + ms);
  }
  return [...byLayer.entries()].map(([layer, ms]) => ({ layer, ms })).sort((a, b) => b.ms - a.ms);
}
