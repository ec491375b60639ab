import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { createTracing } from './otel.js';

test('the default protocol sends protobuf to the endpoint, and shutting down flushes what is buffered', async (t) => {
  const received: { url: string | undefined; type: string | undefined; bytes: number }[] = [];
  const server = createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      received.push({ url: request.url, type: request.headers['content-type'], bytes });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // The exporter reads its endpoint from the environment, as in a service; this test file runs in a process of its own.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '600000';

  const tracing = await createTracing({
    settings: { on: true, exporters: ['otlp'], protocol: 'http/protobuf', problems: [] },
    services: ['user'],
  });
  const transaction = tracing.routeTransaction('user', [undefined]);
  const headers = transaction.run(() => transaction.headersFor('', 'user_queue', 'a-message-id'));
  transaction.end();
  t.regex(headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  t.deepEqual(received, [], 'nothing sent before the batch delay or a shutdown');

  await tracing.shutdown(5_000);
  t.is(received.length, 1);
  t.like(received[0], { url: '/v1/traces', type: 'application/x-protobuf' });
  t.true(received[0]!.bytes > 0);

  // A runtime started again in the same process traces with a provider of its own.
  const again = await createTracing({
    settings: { on: true, exporters: ['otlp'], protocol: 'http/protobuf', problems: [] },
    services: ['user'],
  });
  again.routeTransaction('user', [undefined]).end();
  await again.shutdown(5_000);
  t.is(received.length, 2, 'the second provider exported too');
});
