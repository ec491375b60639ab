/**
 * The encrypted-link settings are checked at start-up: broker TLS files (AMQP_CA_FILE, AMQP_CERT_FILE,
 * AMQP_KEY_FILE) and PostgreSQL's sslmode and certificate files in the database URLs. Every refusal names
 * its variable and never shows a value.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ConfigError, loadConfig } from '../../src/app/config.js';
import { readBrokerTls } from '../../src/app/tls-settings.js';

let dir: string;
let pem: string;
const missing = '/nonexistent/ackstate/secret-path.pem';
const amqps = 'amqps://app:pw@broker.example:5671';

test.before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ackstate-tls-settings-'));
  pem = path.join(dir, 'some.pem');
  await writeFile(pem, '-----BEGIN CERTIFICATE-----\nnot really\n-----END CERTIFICATE-----\n');
});
test.after.always(() => rm(dir, { recursive: true, force: true }));

const refused = (t: import('ava').ExecutionContext, env: Record<string, string>, pattern: RegExp) => {
  const error = t.throws(() => loadConfig(env), { instanceOf: ConfigError });
  t.regex(error!.message, pattern);
  t.false(error!.message.includes(missing), 'the path is not shown');
  t.false(error!.message.includes(':pw@'), 'the password is not shown');
};

test('broker TLS files that exist are read and handed over as PEM contents', (t) => {
  const config = loadConfig({ AMQP_URL: amqps, AMQP_CA_FILE: pem, AMQP_CERT_FILE: pem, AMQP_KEY_FILE: pem });
  const tls = readBrokerTls(config);
  t.true(tls.ca?.toString().includes('BEGIN CERTIFICATE'));
  t.truthy(tls.cert);
  t.truthy(tls.key);
  t.deepEqual(readBrokerTls(loadConfig({})), {}, 'nothing without the settings');
});

for (const variable of ['AMQP_CA_FILE', 'AMQP_CERT_FILE', 'AMQP_KEY_FILE']) {
  test(`a missing ${variable} stops start-up, naming the variable`, (t) => {
    const pair: Record<string, string> = variable === 'AMQP_CA_FILE' ? {} : { AMQP_CERT_FILE: pem, AMQP_KEY_FILE: pem };
    refused(
      t,
      { AMQP_URL: amqps, ...pair, [variable]: missing },
      new RegExp(`${variable}: the file cannot be read \\(ENOENT\\)`),
    );
  });
}

test('a directory is not a certificate file', (t) => {
  refused(t, { AMQP_URL: amqps, AMQP_CA_FILE: dir }, /AMQP_CA_FILE: the file cannot be read \(not a file\)/);
});

test('a client certificate without its key (or the key alone) is refused', (t) => {
  refused(t, { AMQP_URL: amqps, AMQP_CERT_FILE: pem }, /AMQP_CERT_FILE and AMQP_KEY_FILE must be set together/);
  refused(t, { AMQP_URL: amqps, AMQP_KEY_FILE: pem }, /AMQP_CERT_FILE and AMQP_KEY_FILE must be set together/);
});

test('broker TLS files with only amqp:// URLs are refused rather than silently unused', (t) => {
  refused(t, { AMQP_URL: 'amqp://app:pw@broker:5672', AMQP_CA_FILE: pem }, /no amqps:\/\/ URL/);
  t.notThrows(() => loadConfig({ AMQP_URL: `amqp://a:b@h1:5672,${amqps}`, AMQP_CA_FILE: pem }));
});

test('PostgreSQL sslmode values that pg knows are accepted, with their certificate files', (t) => {
  for (const mode of ['disable', 'prefer', 'require', 'verify-full', 'no-verify']) {
    t.notThrows(() => loadConfig({ USER_DB_URL: `postgres://app:pw@db/u?sslmode=${mode}` }), mode);
  }
  const url = `postgres://app:pw@db/u?sslmode=verify-full&sslrootcert=${pem}&sslcert=${pem}&sslkey=${pem}`;
  t.is(loadConfig({ CARD_DB_URL: url }).CARD_DB_URL, url, 'passed to pg unchanged');
  t.notThrows(() => loadConfig({ CARD_DB_URL: `postgres://app:pw@db/c?sslmode=verify-ca&sslrootcert=${pem}` }));
});

test('an unknown sslmode, verify-ca without a CA, or a missing certificate file is refused, naming the variable', (t) => {
  refused(t, { USER_DB_URL: 'postgres://app:pw@db/u?sslmode=required' }, /USER_DB_URL: sslmode must be one of/);
  refused(
    t,
    { CARD_DB_URL: 'postgres://app:pw@db/c?sslmode=verify-ca' },
    /CARD_DB_URL: sslmode=verify-ca needs sslrootcert/,
  );
  for (const parameter of ['sslrootcert', 'sslcert', 'sslkey']) {
    refused(
      t,
      { CARD_DB_URL: `postgres://app:pw@db/c?sslmode=verify-full&${parameter}=${missing}` },
      new RegExp(`CARD_DB_URL: the ${parameter} file cannot be read \\(ENOENT\\)`),
    );
  }
});
