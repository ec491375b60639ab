/**
 * No Docker engine runs here, so compose.yml cannot be started in a test. Instead it is held to
 * the Compose Specification's JSON schema and to the code's own configuration: every variable it
 * sets must be one src/app/config.ts reads and must load, every command must name a real mode, every
 * published port must be the one the process listens on (docs/configuration.md's tables are held to the
 * code by configuration-docs.test.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { configVariables, loadConfig, type Config } from '../src/app/config.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// An empty ACKSTATE_SHARED_DIR counts as unset.
const sharedDir = process.env.ACKSTATE_SHARED_DIR || path.resolve(repoRoot, '../shared');
const sharedSchemaPath = path.join(sharedDir, 'reference', 'compose-spec.json');
// The shared reference when it is beside the repository, else the committed copy of it.
const vendoredSchemaPath = path.join(repoRoot, 'test', 'fixtures', 'compose-spec.json');
const schemaPath = existsSync(sharedSchemaPath) ? sharedSchemaPath : vendoredSchemaPath;
const composePath = path.join(repoRoot, 'compose.yml');

/** The modes `node dist/main.js <mode>` accepts; with no mode it runs both. */
const modes = ['user', 'card'] as const;
type Mode = (typeof modes)[number];
/**
 * Settings a containerised service must set itself: their defaults name 127.0.0.1, which inside a
 * container is the container, not the broker, the database or the host's network.
 */
const mustSet: Record<Mode, (keyof Config)[]> = {
  user: ['AMQP_URL', 'USER_DB_URL', 'HTTP_HOST', 'HTTP_PORT'],
  card: ['AMQP_URL', 'CARD_DB_URL', 'HTTP_HOST', 'HTTP_PORT'],
};
const infrastructure = ['rabbitmq', 'postgres'] as const;

type Scalar = string | number | boolean | null;
interface Service {
  build?: unknown;
  image?: string;
  command?: string | string[];
  environment?: Record<string, Scalar> | string[];
  ports?: (string | number | { target: string | number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean | string };
  configs?: (string | { source: string; target?: string })[];
}
interface ComposeFile {
  services: Record<string, Service>;
  configs?: Record<string, { content?: string; file?: string }>;
  [key: string]: unknown;
}

function loadCompose(): ComposeFile {
  const doc = parseDocument(readFileSync(composePath, 'utf8'), { uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings].map((problem) => problem.message);
  if (problems.length > 0) throw new Error(`compose.yml is not clean YAML:\n${problems.join('\n')}`);
  return doc.toJS() as ComposeFile;
}

let validator: ValidateFunction | undefined;
let ajv: Ajv | undefined;
function composeValidator(): { ajv: Ajv; validate: ValidateFunction } {
  if (!validator || !ajv) {
    if (!existsSync(schemaPath)) {
      throw new Error(
        `The Compose Specification schema is missing: ${schemaPath} does not exist. ` +
          'Set ACKSTATE_SHARED_DIR to the folder that holds reference/compose-spec.json ' +
          '(by default the shared/ folder beside this repository).',
      );
    }
    const { $schema, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
    // The file names draft-07 by its https address, which Ajv does not know; draft-07 is Ajv's own
    // default dialect, so the schema compiles without the field. Any other dialect must not.
    if (typeof $schema !== 'string' || !/^https?:\/\/json-schema\.org\/draft-07\/schema#?$/.test($schema)) {
      throw new Error(`${schemaPath}: expected a draft-07 schema, found $schema ${JSON.stringify($schema)}`);
    }
    // The upstream schema uses union types and object keywords without "type": allowed, not strict.
    ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strictTypes: false });
    validator = ajv.compile(schema);
  }
  return { ajv, validate: validator };
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((error) => `  ${error.instancePath || '/'}: ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`)
    .join('\n');
}

/** The services built from this repository's Dockerfile. */
function appServices(compose: ComposeFile): [string, Service][] {
  return Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
}

/** A service's environment as the strings the process will see, in either of Compose's two forms. */
function environmentOf(name: string, service: Service): Record<string, string> {
  const raw = service.environment ?? {};
  const entries: [string, Scalar | undefined][] = Array.isArray(raw)
    ? raw.map((item) => {
        const at = item.indexOf('=');
        return at < 0 ? [item, undefined] : [item.slice(0, at), item.slice(at + 1)];
      })
    : Object.entries(raw);
  return Object.fromEntries(
    entries.map(([key, value]) => {
      if (value === undefined || value === null) {
        throw new Error(`${name}: ${key} takes its value from the host's environment; give it one in compose.yml`);
      }
      const text = String(value);
      if (text.includes('$')) {
        throw new Error(`${name}: ${key}=${text} uses interpolation, which this test does not resolve`);
      }
      return [key, text];
    }),
  );
}

/** Container and published port of one `ports` entry, in the short or the long syntax. */
function portOf(entry: NonNullable<Service['ports']>[number]): { target: string; published?: string } {
  if (typeof entry === 'object') {
    return entry.published === undefined
      ? { target: String(entry.target) }
      : { target: String(entry.target), published: String(entry.published) };
  }
  const parts = String(entry)
    .replace(/\/(tcp|udp|sctp)$/, '')
    .split(':');
  const target = parts.at(-1) ?? '';
  return parts.length > 1 ? { target, published: parts.at(-2) ?? '' } : { target };
}

function healthcheckText(service: Service): string {
  const check = service.healthcheck?.test;
  return Array.isArray(check) ? check.join(' ') : (check ?? '');
}

test('the committed copy of the Compose Specification schema is the shared reference', (t) => {
  t.true(existsSync(vendoredSchemaPath), `missing ${vendoredSchemaPath}`);
  if (existsSync(sharedSchemaPath)) {
    t.is(
      readFileSync(vendoredSchemaPath, 'utf8'),
      readFileSync(sharedSchemaPath, 'utf8'),
      'test/fixtures/compose-spec.json differs from the shared reference',
    );
  }
});

test('compose.yml validates against the Compose Specification schema', (t) => {
  const { ajv, validate } = composeValidator();
  const compose = loadCompose();
  const valid = validate(compose);
  if (!valid) t.log(ajv.errorsText(validate.errors, { separator: '\n' }));
  t.true(valid, `compose.yml does not match ${schemaPath}:\n${describeErrors(validate.errors)}`);
  t.false('version' in compose, 'the top-level version: is obsolete in the Compose Specification');
  t.deepEqual(Object.keys(compose.services).sort(), ['card', 'postgres', 'rabbitmq', 'user']);
});

test('the validator rejects a broken compose file', (t) => {
  const { validate } = composeValidator();
  const compose = loadCompose();

  const extended = structuredClone(compose);
  extended['x-note'] = { anything: 'goes' };
  t.true(validate(extended), `an x- extension must stay valid:\n${describeErrors(validate.errors)}`);

  const badPorts = structuredClone(compose);
  (badPorts.services.user as Record<string, unknown>).ports = 'x';
  t.false(validate(badPorts), 'ports: "x" must not validate');
  t.true(validate.errors?.some((error) => error.instancePath === '/services/user/ports'));

  const unknownKey = structuredClone(compose);
  unknownKey.servces = {};
  t.false(validate(unknownKey), 'an unknown top-level key must not validate');
  t.true(validate.errors?.some((error) => error.params.additionalProperty === 'servces'));

  const badCondition = structuredClone(compose);
  badCondition.services.card!.depends_on = { rabbitmq: { condition: 'service_ready' } };
  t.false(validate(badCondition), 'an unknown depends_on condition must not validate');

  const unknownServiceKey = structuredClone(compose);
  (unknownServiceKey.services.card as Record<string, unknown>).enviroment = { LOG_LEVEL: 'debug' };
  t.false(validate(unknownServiceKey), 'a misspelt service key must not validate');
});

test('the app services are user and card, built from this repository', (t) => {
  t.deepEqual(
    appServices(loadCompose())
      .map(([name]) => name)
      .sort(),
    ['card', 'user'],
  );
});

test('every variable the app services set is read by src/app/config.ts, and loads', (t) => {
  const known = new Set<string>(configVariables);
  for (const [name, service] of appServices(loadCompose())) {
    const env = environmentOf(name, service);
    const unknown = Object.keys(env).filter((key) => !known.has(key));
    t.deepEqual(unknown, [], `${name} sets variables src/app/config.ts does not read: ${unknown.join(', ')}`);

    let config: Config | undefined;
    t.notThrows(() => {
      config = loadConfig(env);
    }, `${name}'s environment does not load`);
    t.is(config?.HTTP_HOST, '0.0.0.0', `${name} must listen on every interface to be reachable from the host`);

    const mode = service.command?.at(-1);
    if (mode === 'user' || mode === 'card') {
      const missing = mustSet[mode].filter((key) => !(key in env));
      t.deepEqual(missing, [], `${name} leaves ${missing.join(', ')} at a default that points at 127.0.0.1`);
    }
  }
});

test('the app services reach the broker and the databases compose.yml defines', (t) => {
  const compose = loadCompose();
  const postgres = compose.services.postgres;
  t.truthy(postgres, 'no postgres service');
  // The databases the postgres service's init scripts create on first start.
  const initScripts = (postgres?.configs ?? [])
    .map((entry) => (typeof entry === 'string' ? { source: entry } : entry))
    .filter((entry) => entry.target?.startsWith('/docker-entrypoint-initdb.d/'))
    .map((entry) => compose.configs?.[entry.source]?.content ?? '');
  const created = new Set(
    initScripts.flatMap((sql) => [...sql.matchAll(/create\s+database\s+"?(\w+)"?/gi)].map((match) => match[1])),
  );

  for (const [name, service] of appServices(compose)) {
    const env = environmentOf(name, service);
    for (const key of ['AMQP_URL', 'USER_DB_URL', 'CARD_DB_URL'] as const) {
      const value = env[key];
      if (value === undefined) continue;
      for (const one of value.split(',')) {
        const url = new URL(one.trim());
        t.true(url.hostname in compose.services, `${name}: ${key} names host ${url.hostname}, not a compose service`);
        if (key !== 'AMQP_URL') {
          t.is(url.hostname, 'postgres', `${name}: ${key} must point at the postgres service`);
          const database = url.pathname.replace(/^\//, '');
          t.true(created.has(database), `${name}: ${key} names database ${database}, which no init script creates`);
        } else {
          t.is(url.hostname, 'rabbitmq', `${name}: ${key} must point at the rabbitmq service`);
        }
      }
    }
  }
});

test('the app commands name real modes, and ports and health checks match HTTP_PORT', (t) => {
  const compose = loadCompose();
  const published = new Map<string, string>();
  for (const [name, service] of Object.entries(compose.services)) {
    for (const entry of service.ports ?? []) {
      const { published: hostPort } = portOf(entry);
      if (hostPort === undefined) continue;
      t.false(published.has(hostPort), `host port ${hostPort} is published by ${published.get(hostPort)} and ${name}`);
      published.set(hostPort, name);
    }
  }

  for (const [name, service] of appServices(compose)) {
    const command = service.command;
    t.true(Array.isArray(command), `${name}: give command in exec form, a list`);
    if (!Array.isArray(command)) continue;
    t.deepEqual(command.slice(0, 2), ['node', 'dist/main.js'], `${name}: command must run dist/main.js`);
    const mode = command[2];
    t.true(
      (modes as readonly string[]).includes(mode ?? ''),
      `${name}: mode ${mode} is not one of ${modes.join(', ')}`,
    );
    t.is(command.length, 3, `${name}: dist/main.js takes one mode`);
    t.is(mode, name, `service ${name} runs mode ${mode}`);

    const port = String(loadConfig(environmentOf(name, service)).HTTP_PORT);
    const ports = (service.ports ?? []).map(portOf);
    t.true(ports.length > 0, `${name} publishes no port`);
    for (const { target, published: hostPort } of ports) {
      t.is(target, port, `${name} publishes container port ${target} but listens on HTTP_PORT ${port}`);
      t.is(hostPort, port, `${name} publishes host port ${hostPort ?? '(random)'}, expected ${port} as in HTTP_PORT`);
    }

    const check = healthcheckText(service);
    t.true(check.includes(`:${port}/readyz`), `${name}: health check must ask /readyz on port ${port}: ${check}`);
  }
});

test('the app services wait for a healthy rabbitmq and postgres', (t) => {
  const compose = loadCompose();
  for (const dependency of infrastructure) {
    const check = compose.services[dependency]?.healthcheck;
    t.truthy(check?.test, `${dependency} has no health check, so service_healthy would never be met`);
    t.falsy(check?.disable, `${dependency}'s health check is disabled`);
  }
  for (const [name, service] of appServices(compose)) {
    const dependsOn = service.depends_on;
    t.false(Array.isArray(dependsOn) || dependsOn === undefined, `${name}: depends_on needs conditions, not a list`);
    if (Array.isArray(dependsOn) || dependsOn === undefined) continue;
    for (const dependency of infrastructure) {
      t.is(dependsOn[dependency]?.condition, 'service_healthy', `${name} must wait for ${dependency} to be healthy`);
    }
  }
});

test('the Dockerfile runs dist/main.js as the node user and checks /healthz', (t) => {
  const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM\s+/m).slice(1);
  t.true(stages.length >= 2, 'a build stage and a runtime stage');
  t.true(
    stages.every((stage) => stage.startsWith('node:20-bookworm-slim')),
    'every stage on node:20-bookworm-slim',
  );
  const runtime = stages.at(-1) ?? '';
  t.regex(runtime, /^USER node$/m);
  t.regex(runtime, /npm ci --omit=dev/);
  t.regex(runtime, /^CMD \["node", "dist\/main\.js"\]$/m);
  t.regex(runtime, /^HEALTHCHECK [^\n]*\\?\n?.*fetch\(.*\/healthz/m);
  const start = (
    JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
  ).scripts?.start;
  t.is(start, 'node dist/main.js', 'package.json start and the image CMD run the same file');
});
