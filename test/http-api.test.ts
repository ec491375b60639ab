import test from 'ava';
import { createUser, getUser } from './support/api.js';
import { createTestEnvironment } from './support/environment.js';
import { startService, type ServiceProcess } from './support/service-process.js';

let service: ServiceProcess;
const environment = createTestEnvironment('http', { HTTP_BODY_LIMIT: '4096' });

test.before(async () => {
  service = await startService(environment.env, 'user');
});

test.after.always(async () => {
  await service?.stop();
  await environment.cleanUp();
});

async function post(body: string, contentType = 'application/json') {
  const response = await fetch(`${service.url}/users`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  return { status: response.status, body: (await response.json()) as { error?: string } };
}

test('GET /healthz answers alive and GET /readyz reports every check', async (t) => {
  const health = await fetch(`${service.url}/healthz`);
  t.is(health.status, 200);
  const ready = await fetch(`${service.url}/readyz`);
  t.is(ready.status, 200);
  const body = (await ready.json()) as { checks: Record<string, string> };
  t.is(body.checks.broker, 'connected');
  t.is(body.checks.publisher, 'open');
  t.is(body.checks['user.database'], 'reachable');
  t.is(body.checks['user.consumer'], 'consuming');
});

const badBodies: [string, string, RegExp][] = [
  ['not JSON', '{"name": "Ada",', /JSON/i],
  ['an empty body', '', /empty|body/i],
  ['a JSON array', '[]', /object|expected/i],
  ['a missing name', '{"email":"a@example.com"}', /name/],
  ['a missing email', '{"name":"Ada"}', /email/],
  ['an invalid email', '{"name":"Ada","email":"not-an-email"}', /email/],
  ['an empty name', '{"name":"","email":"a@example.com"}', /name/],
  ['a name that is not a string', '{"name":42,"email":"a@example.com"}', /name/],
  ['an unknown field', '{"name":"Ada","email":"a@example.com","admin":true}', /admin/],
  ['a control character in the name', '{"name":"A\\u0007da","email":"a@example.com"}', /control/],
];

for (const [what, body, reason] of badBodies) {
  test(`POST /users with ${what} is a 400 with a reason`, async (t) => {
    const response = await post(body);
    t.is(response.status, 400);
    t.regex(response.body.error ?? '', reason);
  });
}

test('POST /users with another content type is refused with 415', async (t) => {
  const response = await post('name=Ada', 'application/x-www-form-urlencoded');
  t.is(response.status, 415);
  t.truthy(response.body.error);
});

test('POST /users with a body over the limit is a 413, and the service keeps serving', async (t) => {
  const response = await post(JSON.stringify({ name: 'x'.repeat(10_000), email: 'big@example.com' }));
  t.is(response.status, 413);
  t.is((await fetch(`${service.url}/healthz`)).status, 200);
});

test('an email already taken is a 409, whatever its case', async (t) => {
  await createUser(service.url, 'Grace', 'grace@example.com');
  const again = await post(JSON.stringify({ name: 'Grace H', email: 'grace@example.com' }));
  t.is(again.status, 409);
  t.regex(again.body.error ?? '', /taken/);
  const upper = await post(JSON.stringify({ name: 'Grace H', email: 'GRACE@example.com' }));
  t.is(upper.status, 409);
});

test('users created at the same moment share transactions: each one is created or refused on its own', async (t) => {
  // 60 requests at once, 20 emails each asked for three times (in varying case): whatever batches they
  // fall into, exactly one request per email is a 201 and the two others are 409s.
  const emails = Array.from({ length: 20 }, (_, index) => `crowd-${index}@example.com`);
  const requests = emails.flatMap((email) => [email, email.toUpperCase(), email.replace('crowd', 'Crowd')]);
  const answers = await Promise.all(requests.map((email) => post(JSON.stringify({ name: 'Crowd', email }))));
  for (const email of emails) {
    const statuses = answers
      .filter((_, index) => requests[index]!.toLowerCase() === email)
      .map((answer) => answer.status);
    t.deepEqual(statuses.sort(), [201, 409, 409], email);
  }
  const created = answers.filter((answer) => answer.status === 201) as { body: { id?: string } }[];
  for (const { body } of created) t.is((await getUser(service.url, body.id!)).status, 200, 'every 201 was committed');
});

test('GET /users/:id: unknown id is a 404, malformed id a 400', async (t) => {
  const unknown = await getUser(service.url, '00000000-0000-4000-8000-000000000000');
  t.is(unknown.status, 404);
  const malformed = await getUser(service.url, 'not-a-uuid');
  t.is(malformed.status, 400);
  t.regex((malformed.body as { error: string }).error, /UUID/);
});

test('names and emails with quotes, SQL and non-ASCII text are stored and returned exactly', async (t) => {
  const name = `Robert'); DROP TABLE users;-- "Bobby" Ñandú 李`;
  const created = await createUser(service.url, name, `o'brien+tag@example.com`);
  const fetched = await getUser(service.url, created.id);
  t.is(fetched.status, 200);
  t.is((fetched.body as { name: string }).name, name);
  t.is((fetched.body as { email: string }).email, `o'brien+tag@example.com`);
});

test('an unknown route is a JSON 404', async (t) => {
  const response = await fetch(`${service.url}/nowhere`);
  t.is(response.status, 404);
  t.truthy(((await response.json()) as { error: string }).error);
});
