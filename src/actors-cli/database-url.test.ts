import test from 'ava';
import { DatabaseSettingsError, databaseUrl } from './database-url.js';

test('--database first, then DATABASE_URL', (t) => {
  t.is(databaseUrl('postgres://a/x', { DATABASE_URL: 'postgres://b/y' }), 'postgres://a/x');
  t.is(databaseUrl(undefined, { DATABASE_URL: 'postgresql://b/y' }), 'postgresql://b/y');
});

test('neither is a clear error', (t) => {
  for (const env of [{}, { DATABASE_URL: ' ' }]) {
    const error = t.throws(() => databaseUrl(undefined, env), { instanceOf: DatabaseSettingsError });
    t.is(error?.message, 'no database: give --database <postgres-url> or set DATABASE_URL');
  }
});

test('not a postgres URL, and no password in the message', (t) => {
  const wrong = t.throws(() => databaseUrl('mysql://u:secret@h/d', {}), { instanceOf: DatabaseSettingsError });
  t.is(wrong?.message, '--database: must be a postgres:// or postgresql:// URL, not mysql://…');
  const garbled = t.throws(() => databaseUrl(undefined, { DATABASE_URL: 'secret word' }));
  t.is(garbled?.message, 'DATABASE_URL: not a URL');
});
