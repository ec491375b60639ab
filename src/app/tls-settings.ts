/**
 * Checks of the encrypted-link settings, made at start-up so that a missing file or a mistyped mode stops
 * the process with a message naming the variable (and never the value):
 * - AMQP_CA_FILE, AMQP_CERT_FILE, AMQP_KEY_FILE: readable files, the certificate and key together, and
 *   only with an amqps:// URL (set with amqp:// alone they would be silently unused);
 * - USER_DB_URL, CARD_DB_URL: `sslmode` one that pg knows, and the files of `sslrootcert`, `sslcert` and
 *   `sslkey` readable (pg reads them itself, from the URL).
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import type { BrokerTls } from 'ackstate';

export const brokerTlsVariables = ['AMQP_CA_FILE', 'AMQP_CERT_FILE', 'AMQP_KEY_FILE'] as const;
export const postgresSslModes = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
const postgresSslFiles = ['sslrootcert', 'sslcert', 'sslkey'] as const;

export interface TlsSettings {
  readonly AMQP_URL: string;
  readonly AMQP_CA_FILE?: string | undefined;
  readonly AMQP_CERT_FILE?: string | undefined;
  readonly AMQP_KEY_FILE?: string | undefined;
  readonly USER_DB_URL: string;
  readonly CARD_DB_URL: string;
}

function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile() ? undefined : 'not a file';
  } catch (error) {
    return (error as { code?: string }).code ?? 'unreadable';
  }
}

/** Every problem with the TLS settings, each naming its variable; empty when all is well. */
export function tlsSettingProblems(settings: TlsSettings): string[] {
  const problems: string[] = [];
  for (const variable of brokerTlsVariables) {
    const path = settings[variable];
    const problem = path === undefined ? undefined : unreadable(path);
    if (problem) problems.push(`${variable}: the file cannot be read (${problem})`);
  }
  if ((settings.AMQP_CERT_FILE === undefined) !== (settings.AMQP_KEY_FILE === undefined)) {
    problems.push('AMQP_CERT_FILE and AMQP_KEY_FILE must be set together');
  }
  const anyBrokerFile = brokerTlsVariables.some((variable) => settings[variable] !== undefined);
  if (anyBrokerFile && !settings.AMQP_URL.split(',').some((url) => url.trim().startsWith('amqps://'))) {
    problems.push(`${brokerTlsVariables.join(', ')}: set, but AMQP_URL has no amqps:// URL to use them`);
  }
  for (const variable of ['USER_DB_URL', 'CARD_DB_URL'] as const) {
    let params: URLSearchParams;
    try {
      params = new URL(settings[variable]).searchParams;
    } catch {
      problems.push(`${variable}: is not a valid URL`);
      continue;
    }
    const mode = params.get('sslmode');
    if (mode !== null && !(postgresSslModes as readonly string[]).includes(mode)) {
      problems.push(`${variable}: sslmode must be one of ${postgresSslModes.join(', ')}`);
    }
    if (mode === 'verify-ca' && params.get('sslrootcert') === null) {
      problems.push(`${variable}: sslmode=verify-ca needs sslrootcert`);
    }
    for (const parameter of postgresSslFiles) {
      const path = params.get(parameter);
      const problem = path === null ? undefined : unreadable(path);
      if (problem) problems.push(`${variable}: the ${parameter} file cannot be read (${problem})`);
    }
  }
  return problems;
}

/** Reads the broker's TLS files (checked at start-up by `tlsSettingProblems`). */
export function readBrokerTls(settings: TlsSettings): BrokerTls {
  const read = (path: string | undefined) => (path === undefined ? {} : { value: readFileSync(path) });
  const ca = read(settings.AMQP_CA_FILE).value;
  const cert = read(settings.AMQP_CERT_FILE).value;
  const key = read(settings.AMQP_KEY_FILE).value;
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}
