/**
 * ackstate as a package, as a user gets it: the tarball `npm pack` makes from the build (`npm test` builds
 * before ava; this test does not), installed into a new project of its own, a strict TypeScript service
 * compiled there with the repo's own compiler, and run with `node` against the local broker and database.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import amqplib from 'amqplib';
import { dropDatabase } from '../src/db/database.js';
import { deadLetterHeader } from '../src/policies/dead-letter.js';
import { peekQueue, publishRaw, queueCounts } from './support/broker.js';
import { amqpUrl, delayQueuesOf, postgresServer, query } from './support/environment.js';
import { repoRoot } from './support/service-process.js';
import { waitUntil } from './support/wait.js';

interface Run {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end; never throws for a non-zero exit (the caller decides what that means). */
async function run(command: string, args: readonly string[], cwd: string, timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : (error.signal ?? 'failed');
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const output = (result: Run) => `exit ${result.code}\n${result.stdout}\n${result.stderr}`.trim();

interface PackedFile {
  readonly path: string;
}

/** The user's service: strict TypeScript against the package's own types, nothing from ackstate's sources. */
const serviceSource = `import { randomUUID } from 'node:crypto';
import { defineConsumer, defineService, startRuntime, type Destination } from 'ackstate';
import { sql, type Kysely, type Migration, type Transaction } from 'kysely';
import { z } from 'zod';

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(\`\${name} is not set\`);
  return value;
}

interface NoteDatabase {
  notes: { id: string; text: string };
}

const migrations: Record<string, Migration> = {
  '001_notes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('text', 'text', (column) => column.notNull())
        .execute();
    },
  },
};

const output: Destination = { queue: setting('OUTPUT_QUEUE') };

const takeNotes = defineConsumer({
  queue: setting('INPUT_QUEUE'),
  schema: z.object({ id: z.uuid(), text: z.string() }),
  key: (note) => \`note:\${note.id}\`,
  publishes: [output],
  maxAttempts: 2,
  async handle(trx: Transaction<NoteDatabase>, note, out) {
    await trx.insertInto('notes').values({ id: note.id, text: note.text }).execute();
    const { rows } = await sql<{ n: number }>\`SELECT count(*)::int AS n FROM notes\`.execute(trx);
    out.publish(output, { id: note.id, text: note.text, stored: rows[0]?.n ?? 0 }, { messageId: randomUUID() });
    return note.id;
  },
  describe: { completed: (note, id) => \`stored note \${id} (\${note.text.length} characters)\` },
});

const notes = defineService<NoteDatabase>({
  name: 'notes',
  database: { url: setting('DATABASE_URL'), migrations },
  consumers: [takeNotes],
});

const runtime = await startRuntime({
  broker: { urls: [setting('AMQP_URL')] },
  http: { port: 0 },
  services: [notes],
  consumers: { retry: { baseMs: 50, maxMs: 200 } },
});
const port: number = runtime.port;
process.stdout.write(\`\${JSON.stringify({ listening: port })}\\n\`);

process.once('SIGTERM', () => {
  runtime.stop().then(
    () => {
      process.exitCode = 0;
    },
    (error: unknown) => {
      process.stderr.write(\`stop failed: \${String(error)}\\n\`);
      process.exitCode = 1;
    },
  );
});
`;

/** As strict as a careful user is: `strict`, `exactOptionalPropertyTypes`, and the package's declarations checked too. */
const projectTsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    skipLibCheck: false,
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
};

test('the packed tarball installs into a new project, type-checks strictly and runs a service', async (t) => {
  t.timeout(8 * 60_000);
  const started = Date.now();
  const lap = (what: string) => t.log(`${what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // The build is npm test's: this test packs what is there and fails clearly when nothing is.
  for (const built of ['dist/index.js', 'dist/index.d.ts', 'dist/cli.js']) {
    await access(path.join(repoRoot, built)).catch(() => {
      throw new Error(`${built} is missing: run npm run build first (npm test does)`);
    });
  }

  const work = await mkdtemp(path.join(os.tmpdir(), 'ackstate-package-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));

  // 1. The tarball and what is in it.
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], repoRoot, 120_000);
  if (pack.code !== 0) return t.fail(`npm pack failed: ${output(pack)}`);
  const [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [
    { filename: string; files: PackedFile[] },
  ];
  const files = packed.files.map((file) => file.path);
  const tarball = path.join(work, path.basename(packed.filename));
  lap(`packed ${files.length} files`);
  for (const needed of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/durable-actors.js',
    'dist/durable-actors.d.ts',
    'dist/cli.js',
    'dist/viz/live/browser/app.js',
    'README.md',
    'package.json',
  ]) {
    t.true(files.includes(needed), `the tarball lacks ${needed}`);
  }
  const unwanted = files.filter(
    (file) =>
      file.startsWith('src/') ||
      file.startsWith('test/') ||
      /\.test\.[cm]?js$/.test(file) ||
      /\.test\.d\.[cm]?ts$/.test(file) ||
      file.startsWith('dist/app/') ||
      file === 'dist/main.js' ||
      file === 'dist/main.d.ts',
  );
  t.deepEqual(unwanted, [], 'the tarball holds files a user must not get');

  // 2. A new project that installs it, as a user would (with the Node types a TypeScript user has).
  const project = path.join(work, 'project');
  await mkdir(path.join(project, 'src'), { recursive: true });
  const init = await run('npm', ['init', '-y'], project, 60_000);
  if (init.code !== 0) return t.fail(`npm init failed: ${output(init)}`);
  const manifestPath = path.join(project, 'package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(manifestPath, JSON.stringify({ ...manifest, type: 'module', private: true }, null, 2));
  const install = await run(
    'npm',
    ['install', tarball, 'zod', 'kysely', '@types/node@20', '--no-audit', '--no-fund', '--prefer-offline'],
    project,
  );
  if (install.code !== 0) return t.fail(`npm install failed: ${output(install)}`);
  lap('installed');
  await access(path.join(project, 'node_modules/.bin/ackstate')).catch(() => t.fail('the ackstate bin is not linked'));
  const help = await run(path.join(project, 'node_modules/.bin/ackstate'), ['--help'], project, 60_000);
  t.is(help.code, 0, `the ackstate bin of the package: ${output(help)}`);
  t.regex(help.stdout, /^Usage: ackstate /, 'the bin prints its usage');
  // The durable actors' entry, apart from the main one so that its XState types stay out of a service without actors.
  const actors = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "const m = await import('ackstate/actors'); console.log(typeof m.defineActor, typeof m.simulateActor);",
    ],
    project,
    60_000,
  );
  t.is(actors.stdout.trim(), 'function function', `ackstate/actors imports: ${output(actors)}`);

  // 3. The user's service, compiled with the repo's TypeScript. A compile error fails the test with the
  // compiler's output, at the end: what tsc emitted anyway still runs, so one run reports both kinds of trouble.
  await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(projectTsconfig, null, 2));
  await writeFile(path.join(project, 'src/service.ts'), serviceSource);
  const tsc = path.join(repoRoot, 'node_modules/.bin/tsc');
  const compile = await run(tsc, ['-p', path.join(project, 'tsconfig.json')], project);
  const compileFailure =
    compile.code === 0 ? undefined : `the service does not compile against the installed package:\n${output(compile)}`;
  if (compileFailure !== undefined) t.log(`${compileFailure}\n(running what tsc emitted anyway)`);
  lap('compiled');
  const script = path.join(project, 'dist/service.js');
  if (!existsSync(script)) return t.fail(`tsc emitted no dist/service.js:\n${output(compile)}`);

  // 4. Its queues and database, removed afterwards whatever happens.
  const id = randomBytes(4).toString('hex');
  const input = `t_pkg_${id}_in`;
  const outputQueue = `t_pkg_${id}_out`;
  const databaseUrl = `${postgresServer}/ackstate_t_pkg_${id}`;
  t.teardown(async () => {
    const connection = await amqplib.connect(amqpUrl);
    try {
      const channel = await connection.createChannel();
      for (const queue of [input, `${input}.dead`, ...delayQueuesOf(input), outputQueue, `${outputQueue}.dead`])
        await channel.deleteQueue(queue);
      await channel.close();
    } finally {
      await connection.close();
    }
    await dropDatabase(databaseUrl);
  });

  // 5. The service, run with node from the project (registered last, so its teardown kills it first).
  const child = spawn(process.execPath, [script], {
    cwd: project,
    env: {
      PATH: process.env.PATH ?? '',
      AMQP_URL: amqpUrl,
      DATABASE_URL: databaseUrl,
      INPUT_QUEUE: input,
      OUTPUT_QUEUE: outputQueue,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let ended: number | string | undefined;
  void exited.then((code) => (ended = code));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const tail = () => `stdout: ${stdout.slice(-3000)}\nstderr: ${stderr.slice(-3000)}`;
  const alive = () => {
    if (ended !== undefined) throw new Error(`the service exited with ${ended}`);
  };

  const port = await waitUntil(
    () => {
      alive();
      const line = stdout.split('\n').find((each) => each.startsWith('{"listening":'));
      return line === undefined ? undefined : (JSON.parse(line) as { listening: number }).listening;
    },
    { timeoutMs: 60_000, what: () => `the service to print its port; ${tail()}` },
  );
  t.true(port > 0, 'http: { port: 0 } gives the runtime a real port');
  await waitUntil(
    async () => {
      alive();
      return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
    },
    { timeoutMs: 60_000, what: () => `the service to be ready; ${tail()}` },
  );
  lap('ready');

  // 6. One valid message and one poison message (not JSON).
  const note = { id: randomUUID(), text: `hello from ${id}` };
  const poison = `{"id": "${randomUUID()}", not json`;
  await publishRaw(input, [JSON.stringify(note)], { contentType: 'application/json', messageId: randomUUID() });
  await publishRaw(input, [poison], { contentType: 'application/json', messageId: `poison-${id}` });

  const rows = await waitUntil(
    async () => {
      alive();
      const found = await query<{ id: string; text: string }>(databaseUrl, 'SELECT id, text FROM notes');
      return found.length > 0 && found;
    },
    { timeoutMs: 60_000, what: () => `the note to be committed; ${tail()}` },
  );
  t.deepEqual(rows, [note], 'the handler committed exactly the one row');

  const [sent, ...moreSent] = await waitUntil(
    async () => {
      alive();
      const messages = await peekQueue(outputQueue);
      return messages.length > 0 && messages;
    },
    { timeoutMs: 60_000, what: () => `the outgoing message on ${outputQueue}; ${tail()}` },
  );
  t.deepEqual(
    JSON.parse(sent!.content.toString('utf8')),
    { ...note, stored: 1 },
    'the body as the handler published it',
  );
  t.is(moreSent.length, 0, 'one message published, one sent');

  const [dead, ...moreDead] = await waitUntil(
    async () => {
      alive();
      const messages = await peekQueue(`${input}.dead`);
      return messages.length > 0 && messages;
    },
    { timeoutMs: 60_000, what: () => `the poison message in ${input}.dead; ${tail()}` },
  );
  t.is(dead!.content.toString('utf8'), poison, 'the dead letter keeps the original body');
  const headers = dead!.properties.headers ?? {};
  t.regex(String(headers[deadLetterHeader.reason]), /^body is not JSON/, `reason header ${deadLetterHeader.reason}`);
  t.is(headers[deadLetterHeader.kind], 'poison');
  t.is(headers[deadLetterHeader.queue], input);
  t.is(moreDead.length, 0, 'only the poison message was dead-lettered');
  await waitUntil(async () => (await queueCounts(input)).messages === 0, { what: `${input} to be drained` });
  lap('checked');

  // 7. SIGTERM stops it cleanly: exit 0, on its own (no handle left open).
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    exited,
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running 30 s after SIGTERM'), 30_000))),
  ]);
  clearTimeout(timer);
  t.is(code, 0, `exit after SIGTERM; ${tail()}`);
  lap('stopped');
  if (compileFailure !== undefined) t.fail(compileFailure);
});
