import test from 'ava';
import { connectBroker } from './connection.js';

// Port 9 on loopback (discard) refuses the connection at once: only the manager's settings are looked at.
test('the connection heartbeats at the interval asked for, every 5 s by default', async (t) => {
  const chosen = connectBroker({ urls: ['amqp://127.0.0.1:9'], heartbeatSeconds: 2 });
  const byDefault = connectBroker({ urls: ['amqp://127.0.0.1:9'] });
  t.teardown(() => Promise.all([chosen.close(), byDefault.close()]));
  t.is(chosen.heartbeatIntervalInSeconds, 2);
  t.is(byDefault.heartbeatIntervalInSeconds, 5);
});

test('frames go out at once (TCP_NODELAY): Nagle would hold a publish behind an unanswered ack', async (t) => {
  const connection = connectBroker({ urls: ['amqp://127.0.0.1:9'] });
  t.teardown(() => connection.close());
  t.like(connection.connectionOptions, { noDelay: true });
});
