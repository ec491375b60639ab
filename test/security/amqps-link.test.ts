/**
 * An amqps:// link, end to end on loopback: a TLS listener with a certificate from a CA made at test time,
 * in front of the local RabbitMQ, asking for a client certificate. With AMQP_CA_FILE, AMQP_CERT_FILE and
 * AMQP_KEY_FILE the service connects and becomes ready; without the CA it never connects (the server's
 * certificate is not trusted). PostgreSQL TLS is not exercised here: the local server runs with ssl=off,
 * and turning it on would change the shared server.
 */
import test from 'ava';
import { amqpUrl, createTestEnvironment } from '../support/environment.js';
import { startService } from '../support/service-process.js';
import { makeTestCertificates } from '../support/tls-certificates.js';
import { startTlsTerminator } from '../support/tls-terminator.js';
import { waitUntil } from '../support/wait.js';

test('amqps:// with the CA and a client certificate connects; without the CA it does not', async (t) => {
  const certificates = await makeTestCertificates();
  t.teardown(() => certificates.remove());
  const broker = new URL(amqpUrl);
  const terminator = await startTlsTerminator(
    { cert: certificates.serverCert, key: certificates.serverKey, ca: certificates.caCert },
    { host: broker.hostname, port: Number(broker.port || 5672) },
  );
  t.teardown(() => terminator.close());
  const tlsUrl = new URL(amqpUrl);
  tlsUrl.protocol = 'amqps:';
  tlsUrl.hostname = 'localhost';
  tlsUrl.port = String(terminator.port);
  const environment = createTestEnvironment('amqps');
  t.teardown(() => environment.cleanUp());

  const trusted = await startService(
    {
      ...environment.env,
      AMQP_URL: tlsUrl.toString(),
      AMQP_CA_FILE: certificates.caCert,
      AMQP_CERT_FILE: certificates.clientCert,
      AMQP_KEY_FILE: certificates.clientKey,
    },
    'card',
  );
  t.teardown(() => trusted.stop());
  t.true(terminator.authorized >= 1, 'the link went through the TLS listener with a client certificate');
  await trusted.stop();

  const untrusted = await startService({ ...environment.env, AMQP_URL: tlsUrl.toString() }, 'card', {
    waitReady: false,
  });
  t.teardown(() => untrusted.stop());
  const refusal = await waitUntil(
    () => untrusted.logs.find((line) => line.machine === 'connection' && typeof line.error === 'string'),
    { what: 'the untrusted connection to be refused' },
  );
  t.regex(String(refusal.error), /certificate/i);
  const ready = await fetch(`${untrusted.url}/readyz`);
  t.is(ready.status, 503);
  t.regex(await ready.text(), /"broker":"disconnected"/);
});
