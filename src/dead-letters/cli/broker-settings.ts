/**
 * Where the tool connects: --url, else AMQP_URL, else the services' default, checked by the same rule as
 * the runtime's `broker.urls`, with the same TLS files as the services. Problems name the setting, never
 * its value.
 */
import type { BrokerTls } from '../../api/options.js';
import { brokerTlsProblems, brokerTlsVariables, readBrokerTls, type TlsFiles } from './broker-tls.js';

export interface BrokerSettings {
  readonly urls: readonly string[];
  readonly tls: BrokerTls;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** Where the example application's services connect when AMQP_URL is unset. */
const defaultUrl = 'amqp://guest:guest@127.0.0.1:5672';
const brokerUrl = /^amqps?:\/\/[^\s]+$/;

export function brokerSettings(urlOption: string | undefined, env: NodeJS.ProcessEnv): BrokerSettings {
  const source = urlOption !== undefined ? '--url' : 'AMQP_URL';
  const given = urlOption ?? (env.AMQP_URL === '' ? undefined : env.AMQP_URL) ?? defaultUrl;
  const urls = given
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url.length > 0);
  if (urls.length === 0 || !urls.every((url) => brokerUrl.test(url))) {
    throw new SettingsError(`${source}: must be one amqp:// or amqps:// URL, or several separated by commas`);
  }
  const files: TlsFiles = Object.fromEntries(
    brokerTlsVariables
      .filter((variable) => env[variable] !== undefined && env[variable] !== '')
      .map((variable) => [variable, env[variable]]),
  );
  const problems = brokerTlsProblems(urls, files);
  if (problems.length > 0) throw new SettingsError(problems.join('; '));
  return { urls, tls: readBrokerTls(files) };
}
