import test from 'ava';
import { redact } from './redact.js';

test('the password of a URL is hidden, the rest stays readable', (t) => {
  t.is(redact('amqp://guest:s3cret@broker:5672/vhost'), 'amqp://guest:***@broker:5672/vhost');
  t.is(redact('postgres://app:p%40ss@db/x?sslmode=require'), 'postgres://app:***@db/x?sslmode=require');
});

test('every URL in a longer text is redacted', (t) => {
  const text = 'failed amqps://a:one@h1,amqps://b:two@h2 and postgresql://c:three@h3/db';
  const shown = redact(text);
  for (const secret of ['one', 'two', 'three']) t.false(shown.includes(`:${secret}@`));
});

test('a URL without a password is unchanged', (t) => {
  t.is(redact('postgres://postgres@127.0.0.1:5432/user_service'), 'postgres://postgres@127.0.0.1:5432/user_service');
});

test('a password given as a query parameter is hidden too', (t) => {
  t.is(
    redact('postgres://app@db/x?sslmode=verify-full&password=s3cret&sslpassword=k3y#frag'),
    'postgres://app@db/x?sslmode=verify-full&password=***&sslpassword=***#frag',
  );
});
