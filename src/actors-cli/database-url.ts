/** Which database the actors' commands read: --database, else DATABASE_URL. */
/** No database given, or one that is not a postgres:// URL: a usage problem (exit status 2). */
export class DatabaseSettingsError extends Error {
  override name = 'DatabaseSettingsError';
}

/** The PostgreSQL URL to connect to, from the `--database` option or the environment. */
export function databaseUrl(option: string | undefined, env: NodeJS.ProcessEnv): string {
  const fromEnv = env.DATABASE_URL?.trim() ? env.DATABASE_URL : undefined;
  const url = option ?? fromEnv;
  const source = option === undefined ? 'DATABASE_URL' : '--database';
  if (url === undefined) {
    throw new DatabaseSettingsError('no database: give --database <postgres-url> or set DATABASE_URL');
  }
  let protocol;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // Not echoed: a value that is no URL may still hold a password.
    throw new DatabaseSettingsError(`${source}: not a URL`);
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new DatabaseSettingsError(`${source}: must be a postgres:// or postgresql:// URL, not ${protocol}//…`);
  }
  return url;
}
