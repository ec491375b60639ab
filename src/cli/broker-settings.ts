/**
 * Where the tool connects: --url, else AMQP_URL, else the services' default, checked by the same rule as
 * the services' configuration, with the same TLS files. Problems name the setting, never its value.
 */
import { brokerUrls } from '../actors/broker/broker.js';
import { configSchema } from '../app/config.js';
import { brokerTlsVariables, readBrokerTls, tlsSettingProblems, type BrokerTls } from '../app/tls-settings.js';

export interface BrokerSettings {
  readonly urls: readonly string[];
  readonly tls: BrokerTls;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** tlsSettingProblems also checks the services' database URLs, which the tool does not use. */
const unusedDatabaseUrl = 'postgres://unused';

export function brokerSettings(urlOption: string | undefined, env: NodeJS.ProcessEnv): BrokerSettings {
  const source = urlOption !== undefined ? '--url' : 'AMQP_URL';
  const given = urlOption ?? (env.AMQP_URL === '' ? undefined : env.AMQP_URL);
  const parsed = configSchema.shape.AMQP_URL.safeParse(given);
  if (!parsed.success) throw new SettingsError(`${source}: ${parsed.error.issues[0]?.message ?? 'not a broker URL'}`);
  const files = Object.fromEntries(
    brokerTlsVariables
      .filter((variable) => env[variable] !== undefined && env[variable] !== '')
      .map((variable) => [variable, env[variable]]),
  );
  const settings = { AMQP_URL: parsed.data, ...files, USER_DB_URL: unusedDatabaseUrl, CARD_DB_URL: unusedDatabaseUrl };
  const problems = tlsSettingProblems(settings);
  if (problems.length > 0) throw new SettingsError(problems.join('; '));
  return { urls: brokerUrls(parsed.data), tls: readBrokerTls(settings) };
}
