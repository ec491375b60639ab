/**
 * Hostile input over HTTP, property-based (fast-check): arbitrary bodies, content types and names and
 * emails through POST /users. Each answer is either a 201 whose values GET /users/:id returns exactly as
 * sent, or a 4xx with a JSON reason; never a 5xx, and the process stays alive.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { createTestEnvironment } from '../support/environment.js';
import { startService, type ServiceProcess } from '../support/service-process.js';
import { hostileEmail, hostileName } from '../support/hostile-strings.js';

let service: ServiceProcess;
const environment = createTestEnvironment('hostilehttp', { HTTP_BODY_LIMIT: '4096' });

test.before(async () => {
  service = await startService(environment.env, 'user');
});
test.after.always(async () => {
  await service?.stop();
  await environment.cleanUp();
});

interface Attempt {
  readonly body: string;
  readonly contentType: string | undefined;
}

const fields = fc.record({ name: hostileName, email: hostileEmail });
const jsonBody = fc.oneof(
  { weight: 10, arbitrary: fields.map((value) => JSON.stringify(value)) },
  {
    weight: 1,
    arbitrary: fc
      .record({ name: hostileName, email: hostileEmail, extra: fc.jsonValue() })
      .map((value) => JSON.stringify(value)),
  },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      'null',
      '{"name":"a","email":"a@b.co"',
      '{"__proto__":{"x":1},"name":"a","email":"p@example.com"}',
      '{"constructor":{"prototype":{}}}',
    ),
  },
);
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'application/json; charset=utf-16',
      'application/JSON',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/json; charset=latin1',
      ';;;',
    ),
  },
);
const attempts: fc.Arbitrary<Attempt> = fc.record({ body: jsonBody, contentType });

async function post({ body, contentType: type }: Attempt) {
  const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
  const response = await fetch(`${service.url}/users`, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text() };
}

/** The name and email a body would create, if it is the JSON object the API expects. */
function intended(body: string): { name: unknown; email: unknown } | undefined {
  try {
    const value = JSON.parse(body) as unknown;
    return value && typeof value === 'object' ? (value as { name: unknown; email: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

test('every POST /users is a 201 returned exactly by GET, or a 4xx with a JSON reason; never a 5xx', async (t) => {
  const outcomes = { created: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(attempts, async (attempt) => {
      const { status, text } = await post(attempt);
      if (status === 201) {
        const sent = intended(attempt.body);
        const created = JSON.parse(text) as { id: string; name: string; email: string };
        const fetched = await fetch(`${service.url}/users/${created.id}`);
        const stored = (await fetched.json()) as { name: string; email: string };
        outcomes.created += 1;
        return (
          fetched.status === 200 &&
          stored.name === sent?.name &&
          stored.email === sent?.email &&
          created.name === sent?.name
        );
      }
      if (status >= 400 && status < 500) {
        const reason = (JSON.parse(text) as { error?: unknown }).error;
        outcomes.refused += 1;
        return typeof reason === 'string' && reason.length > 0;
      }
      throw new Error(`answered ${status}: ${text}`);
    }),
    { numRuns: 100 },
  );
  t.log(`created ${outcomes.created}, refused ${outcomes.refused}`);
  t.true(outcomes.created >= 5, 'enough inputs were accepted for the round trip to be tested');
  t.is(service.child.exitCode, null);
  t.is((await fetch(`${service.url}/healthz`)).status, 200);
});

test('hostile names and emails that the rules allow are stored and returned exactly', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(
        `O'Brien "Bob"`,
        `'; DROP TABLE users; --`,
        'Ñandú 李 🦜',
        '$1 %s {{x}} <script>',
        '\\u0000 literally',
      ),
      async (name) => {
        const email = `x.${randomBytes(6).toString('hex')}+'tag@example.com`;
        const response = await post({ body: JSON.stringify({ name, email }), contentType: 'application/json' });
        if (response.status !== 201) throw new Error(`answered ${response.status}: ${response.text}`);
        const { id } = JSON.parse(response.text) as { id: string };
        const stored = (await (await fetch(`${service.url}/users/${id}`)).json()) as { name: string; email: string };
        return stored.name === name && stored.email === email;
      },
    ),
    { numRuns: 5 },
  );
  t.pass();
});
