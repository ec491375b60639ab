import test from 'ava';
import { brokerSettings, SettingsError } from './broker-settings.js';

test('--url wins over AMQP_URL, which wins over the services’ default; a list becomes several URLs', (t) => {
  t.deepEqual(brokerSettings(undefined, {}).urls, ['amqp://guest:guest@127.0.0.1:5672']);
  t.deepEqual(brokerSettings(undefined, { AMQP_URL: '' }).urls, ['amqp://guest:guest@127.0.0.1:5672']);
  t.deepEqual(brokerSettings(undefined, { AMQP_URL: 'amqp://a:1@h1, amqp://b:2@h2' }).urls, [
    'amqp://a:1@h1',
    'amqp://b:2@h2',
  ]);
  t.deepEqual(brokerSettings('amqps://x@h', { AMQP_URL: 'amqp://a@h1' }).urls, ['amqps://x@h']);
});

test('a bad URL names the setting, never its value', (t) => {
  const fromOption = t.throws(() => brokerSettings('http://u:hunter2@h', {}), { instanceOf: SettingsError });
  t.regex(fromOption.message, /^--url: must be one amqp:\/\//);
  t.false(fromOption.message.includes('hunter2'));
  const fromEnv = t.throws(() => brokerSettings(undefined, { AMQP_URL: 'nonsense hunter2' }), {
    instanceOf: SettingsError,
  });
  t.regex(fromEnv.message, /^AMQP_URL: /);
  t.false(fromEnv.message.includes('hunter2'));
});

test('TLS files are checked as the services check them', (t) => {
  const missing = t.throws(() => brokerSettings('amqps://h', { AMQP_CA_FILE: '/nonexistent/ca.pem' }), {
    instanceOf: SettingsError,
  });
  t.regex(missing.message, /AMQP_CA_FILE: the file cannot be read/);
  const unused = t.throws(() => brokerSettings('amqp://h', { AMQP_CA_FILE: '/nonexistent/ca.pem' }), {
    instanceOf: SettingsError,
  });
  t.regex(unused.message, /no amqps:\/\/ URL/);
});
