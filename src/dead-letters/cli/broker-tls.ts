/**
 * The TLS files of the tool's broker link, named by the same variables as the services' (AMQP_CA_FILE,
 * AMQP_CERT_FILE, AMQP_KEY_FILE): checked before connecting, so that a missing file stops the tool with a
 * message naming the variable (never the value), and read into what Node's TLS is given.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import type { BrokerTls } from '../../api/options.js';

export const brokerTlsVariables = ['AMQP_CA_FILE', 'AMQP_CERT_FILE', 'AMQP_KEY_FILE'] as const;
type TlsVariable = (typeof brokerTlsVariables)[number];
export type TlsFiles = Partial<Record<TlsVariable, string>>;

function unreadable(path: string): string | undefined {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile() ? undefined : 'not a file';
  } catch (error) {
    return (error as { code?: string }).code ?? 'unreadable';
  }
}

/** Every problem with the files, each naming its variable; empty when all is well. */
export function brokerTlsProblems(urls: readonly string[], files: TlsFiles): string[] {
  const problems: string[] = [];
  for (const variable of brokerTlsVariables) {
    const path = files[variable];
    const problem = path === undefined ? undefined : unreadable(path);
    if (problem) problems.push(`${variable}: the file cannot be read (${problem})`);
  }
  if ((files.AMQP_CERT_FILE === undefined) !== (files.AMQP_KEY_FILE === undefined)) {
    problems.push('AMQP_CERT_FILE and AMQP_KEY_FILE must be set together');
  }
  const anyFile = brokerTlsVariables.some((variable) => files[variable] !== undefined);
  if (anyFile && !urls.some((url) => url.startsWith('amqps://'))) {
    problems.push(`${brokerTlsVariables.join(', ')}: set, but AMQP_URL has no amqps:// URL to use them`);
  }
  return problems;
}

export function readBrokerTls(files: TlsFiles): BrokerTls {
  const read = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  const ca = read(files.AMQP_CA_FILE);
  const cert = read(files.AMQP_CERT_FILE);
  const key = read(files.AMQP_KEY_FILE);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}
