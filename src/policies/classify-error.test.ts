import test from 'ava';
import { classifyError, PoisonMessageError } from './classify-error.js';
import { describeError } from './describe-error.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a poison message error is poison', (t) => {
  t.is(classifyError(new PoisonMessageError('body is not JSON')).kind, 'poison');
});

test('constraint violations and bad data from PostgreSQL are poison', (t) => {
  t.is(classifyError(withCode('insert violates foreign key', '23503')).kind, 'poison');
  t.is(classifyError(withCode('duplicate key value', '23505')).kind, 'poison');
  t.is(classifyError(withCode('invalid input syntax for type uuid', '22P02')).kind, 'poison');
});

test('an unreachable or terminated database is unavailable', (t) => {
  t.is(classifyError(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')).kind, 'unavailable');
  t.is(classifyError(withCode('terminating connection due to administrator command', '57P01')).kind, 'unavailable');
  t.is(classifyError(withCode('connection failure', '08006')).kind, 'unavailable');
  t.is(classifyError(withCode('cannot execute INSERT in a read-only transaction', '25006')).kind, 'unavailable');
  t.is(classifyError(withCode('database "user_service" does not exist', '3D000')).kind, 'unavailable');
  t.is(classifyError(new Error('Connection terminated unexpectedly')).kind, 'unavailable');
  t.is(classifyError(new Error('Query read timeout')).kind, 'unavailable');
  t.is(
    classifyError(new AggregateError([withCode('a', 'ECONNREFUSED'), withCode('b', 'ECONNREFUSED')])).kind,
    'unavailable',
  );
});

test('a role refused login and exhausted resources are outages: credentials rotated, disk full, too many connections', (t) => {
  t.is(classifyError(withCode('role "card" is not permitted to log in', '28000')).kind, 'unavailable');
  t.is(classifyError(withCode('password authentication failed for user "card"', '28P01')).kind, 'unavailable');
  t.is(classifyError(withCode('could not extend file: No space left on device', '53100')).kind, 'unavailable');
  t.is(classifyError(withCode('sorry, too many clients already', '53300')).kind, 'unavailable');
});

test('statement and lock timeouts are transient, marked as timeouts', (t) => {
  const statement = classifyError(withCode('canceling statement due to statement timeout', '57014'));
  t.like(statement, { kind: 'transient', timedOut: true });
  t.like(classifyError(withCode('canceling statement due to lock timeout', '55P03')), {
    kind: 'transient',
    timedOut: true,
  });
  t.is(classifyError(new Error('missing price')).timedOut, undefined, 'a bug is not a timeout');
});

test('serialization failures, deadlocks and unknown errors are transient', (t) => {
  t.is(classifyError(withCode('could not serialize access', '40001')).kind, 'transient');
  t.is(classifyError(withCode('deadlock detected', '40P01')).kind, 'transient');
  t.is(classifyError(new Error('something odd')).kind, 'transient');
  t.is(classifyError('a string was thrown').kind, 'transient');
});

test('the reason carries the message and the code', (t) => {
  t.is(classifyError(withCode('deadlock detected', '40P01')).reason, 'deadlock detected (40P01)');
});

test('an error that is not an Error is described by its message or reply text, never as [object Object]', (t) => {
  t.is(
    describeError({ replyCode: 406, replyText: 'PRECONDITION_FAILED - inequivalent arg' }),
    'PRECONDITION_FAILED - inequivalent arg',
  );
  t.is(describeError({ message: 'Channel closed' }), 'Channel closed');
  t.is(describeError({ code: 1 }), '{"code":1}');
  t.is(describeError('plain text'), 'plain text');
});
