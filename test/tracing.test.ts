// OpenTelemetry traces across the two services, each its own process, exported over OTLP/HTTP (JSON) to a
// receiver of the test's own: one trace runs from POST /users to the card stored by the user service, also
// for a user created while the user service's broker link was cut (its message published by the relay).
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { amqpUrl, query } from './support/environment.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { entered, startScenario, type Scenario } from './support/scenario.js';
import { startTcpProxy, throughProxy } from './support/tcp-proxy.js';
import { waitUntil } from './support/wait.js';

const kind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
const statusError = 2;

interface ClientTrace {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceparent: string;
}

function clientTrace(): ClientTrace {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

async function createUser(scenario: Scenario, client: ClientTrace, label: string): Promise<string> {
  const response = await fetch(`${scenario.users.url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: client.traceparent, tracestate: 'test=ackstate' },
    body: JSON.stringify({ name: label, email: `${label}-${randomBytes(4).toString('hex')}@example.com` }),
  });
  if (response.status !== 201) throw new Error(`POST /users answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

const cardStored = async (scenario: Scenario, userId: string) =>
  (await query(scenario.environment.userDbUrl, 'SELECT 1 FROM cards WHERE user_id = $1', [userId])).length === 1;

/** The outbox row of the user message whose traceparent carries `traceId`. */
async function userMessageRow(scenario: Scenario, traceId: string) {
  const rows = await query<{ id: string; sent_at: Date | null; headers: Record<string, string> | null }>(
    scenario.environment.userDbUrl,
    `SELECT id, sent_at, headers FROM outbox WHERE headers->>'traceparent' LIKE $1`,
    [`00-${traceId}-%`],
  );
  return rows.length === 1 ? rows[0]! : undefined;
}

class Trace {
  constructor(
    readonly t: ExecutionContext,
    readonly spans: readonly ReceivedSpan[],
  ) {}

  /** The spans with this name and parent (and service, when given). */
  children(parent: ReceivedSpan | string, name: string, service?: string): ReceivedSpan[] {
    const parentId = typeof parent === 'string' ? parent : parent.spanId;
    return this.spans.filter(
      (span) =>
        span.parentSpanId === parentId && span.name === name && (service === undefined || span.service === service),
    );
  }

  /** The one span with this name and parent (and service, when given). */
  child(parent: ReceivedSpan | string, name: string, service?: string): ReceivedSpan {
    const found = this.children(parent, name, service);
    this.t.is(
      found.length,
      1,
      `one span "${name}" under ${typeof parent === 'string' ? parent : parent.spanId}; the trace: ${this.describe()}`,
    );
    return found[0]!;
  }

  /**
   * The one delivery of a message that was acked. A publish whose confirm came late may have been repeated by
   * the relay (at least once): the repeat's delivery is then a duplicate, in the same trace.
   */
  acked(parent: ReceivedSpan, name: string, service: string): ReceivedSpan {
    const found = this.children(parent, name, service).filter(
      (span) => span.attributes['ackstate.outcome'] === 'acked',
    );
    this.t.is(found.length, 1, `one acked "${name}" under ${parent.spanId}; the trace: ${this.describe()}`);
    return found[0]!;
  }

  describe(): string {
    return JSON.stringify(
      this.spans.map(({ service, name, spanId, parentSpanId }) => ({ service, name, spanId, parentSpanId })),
    );
  }
}

function spansOf(receiver: OtlpReceiver, traceId: string): ReceivedSpan[] {
  return receiver.spans.filter((span) => span.traceId === traceId);
}

/** The spans every user's trace holds, by service; a delivery's span counts once it was acked. */
function missingSpans(scenario: Scenario, spans: readonly ReceivedSpan[]): string[] {
  const { userQueue, cardQueue } = scenario.environment;
  const expected: [string, string][] = [
    ['user-service', 'POST /users'],
    ['user-service', 'transaction user'],
    ['user-service', `create ${userQueue}`],
    ['user-service', `publish ${userQueue}`],
    ['card-service', `process ${userQueue}`],
    ['card-service', `ack ${userQueue}`],
    ['card-service', 'transaction card'],
    ['card-service', `create ${cardQueue}`],
    ['card-service', `publish ${cardQueue}`],
    ['user-service', `process ${cardQueue}`],
    ['user-service', `ack ${cardQueue}`],
  ];
  return expected
    .filter(
      ([service, name]) =>
        !spans.some(
          (span) =>
            span.service === service &&
            span.name === name &&
            (!name.startsWith('process ') || span.attributes['ackstate.outcome'] === 'acked'),
        ),
    )
    .map(([service, name]) => `${service}: ${name}`);
}

/** Waits until each process has exported its spans of the trace (each exports on its own schedule). */
async function completeTrace(receiver: OtlpReceiver, scenario: Scenario, traceId: string): Promise<ReceivedSpan[]> {
  return waitUntil(
    () => {
      const spans = spansOf(receiver, traceId);
      return missingSpans(scenario, spans).length === 0 ? spans : undefined;
    },
    {
      what: () =>
        `the trace ${traceId} to be complete; missing: ${missingSpans(scenario, spansOf(receiver, traceId)).join(', ')}; rejected: ${receiver.rejected.join('; ')}`,
    },
  );
}

/** POST /users → its transaction → create → (publish) → card service → … → the user service stores the card. */
function checkChain(t: ExecutionContext, scenario: Scenario, client: ClientTrace, spans: readonly ReceivedSpan[]) {
  const { userQueue, cardQueue } = scenario.environment;
  const trace = new Trace(t, spans);
  const http = trace.child(client.spanId, 'POST /users', 'user-service');
  t.is(http.kind, kind.server);
  t.is(http.attributes['http.response.status_code'], 201);
  t.is(http.attributes['http.route'], '/users');
  const userTransaction = trace.child(http, 'transaction user', 'user-service');
  const userCreated = trace.child(userTransaction, `create ${userQueue}`, 'user-service');
  t.is(userCreated.kind, kind.producer);
  t.is(userCreated.attributes['messaging.operation.type'], 'create');
  const userMessageId = userCreated.attributes['messaging.message.id'];

  const cardProcessing = trace.acked(userCreated, `process ${userQueue}`, 'card-service');
  t.is(cardProcessing.kind, kind.consumer);
  t.like(cardProcessing.attributes, {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': '',
    'messaging.rabbitmq.destination.routing_key': userQueue,
    'messaging.message.id': userMessageId,
    'ackstate.outcome': 'acked',
  });
  t.true(
    cardProcessing.events.includes('persisting') && cardProcessing.events.includes('done'),
    String(cardProcessing.events),
  );
  t.is(trace.child(cardProcessing, `ack ${userQueue}`).attributes['messaging.operation.type'], 'settle');
  const cardTransaction = trace.child(cardProcessing, 'transaction card', 'card-service');
  const cardCreated = trace.child(cardTransaction, `create ${cardQueue}`, 'card-service');
  const cardPublished = trace.children(cardCreated, `publish ${cardQueue}`, 'card-service');
  t.true(
    cardPublished.some(
      (span) => span.status !== statusError && span.attributes['messaging.operation.type'] === 'publish',
    ),
    `the card message's confirmed publish: ${trace.describe()}`,
  );

  const userProcessing = trace.acked(cardCreated, `process ${cardQueue}`, 'user-service');
  trace.child(userProcessing, 'transaction user', 'user-service');
  return { userCreated, trace };
}

/** The environment that turns tracing on, exporting OTLP/HTTP JSON to the test's receiver after `delayMs`. */
const tracingTo = (receiver: { endpoint: string }, delayMs: string) => ({
  OTEL_TRACES_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_BSP_SCHEDULE_DELAY: delayMs,
});

test('one trace runs from POST /users to the card stored by the user service, also through the relay after a broker outage', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const proxy = await startTcpProxy(Number(new URL(amqpUrl).port || 5672), new URL(amqpUrl).hostname);
  t.teardown(() => proxy.close());
  const tracing = tracingTo(receiver, '100');
  const scenario = await startScenario(t, 'traces', {
    common: tracing,
    user: { OTEL_SERVICE_NAME: 'user-service', AMQP_URL: throughProxy(amqpUrl, proxy) },
    card: { OTEL_SERVICE_NAME: 'card-service' },
  });

  // A user created with every link up.
  const first = clientTrace();
  const firstUser = await createUser(scenario, first, 'traced');
  await waitUntil(() => cardStored(scenario, firstUser), { what: 'the first card to be stored by the user service' });
  const firstRow = await userMessageRow(scenario, first.traceId);
  t.truthy(firstRow, 'the user message carries the request trace in its outbox row');
  t.is(firstRow!.headers!.tracestate, 'test=ackstate', 'and the tracestate');
  const firstChain = checkChain(t, scenario, first, await completeTrace(receiver, scenario, first.traceId));
  t.is(firstChain.userCreated.attributes['messaging.message.id'], firstRow!.id);
  const published = firstChain.trace.children(firstChain.userCreated, `publish ${scenario.environment.userQueue}`);
  t.true(
    published.some(
      (span) =>
        span.attributes['ackstate.outbox.relayed'] === false &&
        span.status !== statusError &&
        span.attributes['messaging.message.id'] === firstRow!.id,
    ),
    `published right after the commit: ${firstChain.trace.describe()}`,
  );

  // A user created while the user service cannot reach the broker: its message waits in the outbox.
  proxy.cut();
  await waitUntil(() => entered(scenario.users, 'connection', 'reconnecting').length > 0, {
    what: 'the user service to lose its broker',
  });
  const second = clientTrace();
  const secondUser = await createUser(scenario, second, 'relayed');
  const unsent = await userMessageRow(scenario, second.traceId);
  t.truthy(unsent, 'the second user message is in the outbox with its trace');
  t.is(unsent!.sent_at, null, 'and unsent while the broker is out of reach');
  proxy.restore();
  await waitUntil(() => cardStored(scenario, secondUser), {
    timeoutMs: 90_000,
    what: 'the second card to be stored once the relay has published the user message',
  });
  const secondChain = checkChain(t, scenario, second, await completeTrace(receiver, scenario, second.traceId));
  const publishesOf = () =>
    spansOf(receiver, second.traceId).filter(
      (span) => span.parentSpanId === secondChain.userCreated.spanId && span.name.startsWith('publish '),
    );
  const relayedConfirmed = (span: ReceivedSpan) =>
    span.attributes['ackstate.outbox.relayed'] === true &&
    span.status !== statusError &&
    span.attributes['messaging.message.id'] === unsent!.id;
  // Its span ends at the confirm, which may come after the card service has consumed the message.
  await waitUntil(() => publishesOf().some(relayedConfirmed), {
    what: () => `the relay's confirmed publish in the trace: ${JSON.stringify(publishesOf())}`,
  });
  t.true(
    publishesOf().some((span) => span.attributes['ackstate.outbox.relayed'] === false && span.status === statusError),
    `the publish right after the commit failed, in the same trace: ${JSON.stringify(publishesOf())}`,
  );
});

test('with tracing off no trace header is written', async (t) => {
  const scenario = await startScenario(t, 'untraced');
  const userId = await createUser(scenario, clientTrace(), 'untraced');
  await waitUntil(() => cardStored(scenario, userId), { what: 'the card to be stored by the user service' });
  for (const url of [scenario.environment.userDbUrl, scenario.environment.cardDbUrl]) {
    const rows = await query<{ headers: Record<string, unknown> | null }>(url, 'SELECT headers FROM outbox');
    t.true(rows.length > 0, `${url} has outbox rows`);
    t.deepEqual(
      rows.filter((row) => row.headers !== null),
      [],
      'no outbox row has headers (no traceparent, no tracestate)',
    );
  }
  t.false(
    [...scenario.users.logs, ...scenario.cards.logs].some((line) => line.message === 'tracing on'),
    'neither process turned tracing on',
  );
});

test('spans still waiting to be exported are sent when the processes stop on SIGTERM', async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  // The batch processor would wait ten minutes before exporting: only the shutdown's flush sends the spans.
  const tracing = tracingTo(receiver, '600000');
  const scenario = await startScenario(t, 'tracesflush', {
    common: tracing,
    user: { OTEL_SERVICE_NAME: 'user-service' },
    card: { OTEL_SERVICE_NAME: 'card-service' },
  });
  const client = clientTrace();
  const userId = await createUser(scenario, client, 'flushed');
  await waitUntil(() => cardStored(scenario, userId), { what: 'the card to be stored by the user service' });
  t.is(spansOf(receiver, client.traceId).length, 0, 'nothing exported while running');

  t.is(await scenario.cards.stop(), 0);
  t.is(await scenario.users.stop(), 0);
  checkChain(t, scenario, client, spansOf(receiver, client.traceId));
});

test("a batch's span links to the trace of each of its messages", async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  const tracing = tracingTo(receiver, '100');
  // One batch at a time: the messages waiting when the card service starts go in batches.
  const card = { OTEL_SERVICE_NAME: 'card-service', BATCH_CONCURRENCY: '1' };
  const scenario = await startScenario(t, 'tracesbatch', {
    common: tracing,
    user: { OTEL_SERVICE_NAME: 'user-service' },
    card,
  });
  await scenario.cards.stop();
  const clients = Array.from({ length: 8 }, clientTrace);
  const users: string[] = [];
  for (const [index, client] of clients.entries()) users.push(await createUser(scenario, client, `batched${index}`));
  await scenario.restartCards(card);
  for (const user of users) await waitUntil(() => cardStored(scenario, user), { what: `the card of ${user}` });

  const { userQueue } = scenario.environment;
  const batch = await waitUntil(
    () =>
      receiver.spans.find(
        (span) =>
          span.service === 'card-service' &&
          span.name === `process ${userQueue}` &&
          Number(span.attributes['messaging.batch.message_count']) > 1,
      ),
    { what: 'a batch of user messages processed by the card service' },
  );
  t.is(batch.parentSpanId, undefined, 'a batch starts a trace of its own');
  t.false(
    clients.some((client) => client.traceId === batch.traceId),
    'in no message trace',
  );
  t.is(batch.links.length, Number(batch.attributes['messaging.batch.message_count']), 'a link per message');
  for (const link of batch.links) {
    t.true(
      clients.some((client) => client.traceId === link.traceId),
      `the link ${link.traceId} goes to a user's trace`,
    );
    const created = await waitUntil(
      () => receiver.spans.find((span) => span.traceId === link.traceId && span.name === `create ${userQueue}`),
      { what: `the user message's create span in ${link.traceId}` },
    );
    t.is(link.spanId, created.spanId, "the link points to the message's creation");
  }
  t.is(new Set(batch.links.map((link) => link.traceId)).size, batch.links.length, 'each message once');
});
