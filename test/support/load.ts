/**
 * Creates users through the HTTP API, as clients would: at a steady rate, retrying a request that failed
 * for a transient reason. A retry that meets 409 means the first attempt did commit; the invariant
 * checker covers such users too, as it checks every user in the database.
 */
import { randomBytes } from 'node:crypto';
import { sleep } from './wait.js';

export interface Flow {
  readonly created: string[];
  readonly failures: number;
  /** Requests begun so far; a flow with a limit stops on its own once this reaches it. */
  readonly started: number;
  stop(): Promise<string[]>;
  /** Ends the flow at once, giving up on requests still retrying (a test's teardown after a failure). */
  abandon(): void;
}

export async function createOneUser(
  baseUrl: () => string,
  label: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const email = `${label}-${randomBytes(6).toString('hex')}@example.com`;
  for (let attempt = 1; attempt <= 60 && !signal?.aborted; attempt += 1) {
    try {
      const response = await fetch(`${baseUrl()}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: label, email }),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 201) return ((await response.json()) as { id: string }).id;
      if (response.status === 409 && attempt > 1) return undefined;
      if (response.status < 500) throw new Error(`POST /users answered ${response.status}: ${await response.text()}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('POST /users answered')) throw error;
    }
    await sleep(Math.min(2_000, 100 * attempt));
  }
  throw new Error(
    `could not create a user at ${baseUrl()}${signal?.aborted ? ' before the flow was abandoned' : ' after 60 attempts'}`,
  );
}

/** Creates users at `perSecond` until stopped; returns the ids that were answered with 201. */
export function startFlow(baseUrl: () => string, perSecond: number, label = 'flow', limit = Infinity): Flow {
  const created: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failures = 0;
  let running = true;
  let started = 0;
  const abandoned = new AbortController();
  const loop = (async () => {
    const interval = 1_000 / perSecond;
    let next = Date.now();
    while (running && started < limit) {
      started += 1;
      const request = createOneUser(baseUrl, label, abandoned.signal)
        .then((id) => {
          if (id) created.push(id);
        })
        .catch(() => {
          failures += 1;
        })
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
      next += interval;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  return {
    created,
    get failures() {
      return failures;
    },
    get started() {
      return started;
    },
    async stop() {
      running = false;
      await loop;
      await Promise.all(inFlight);
      return created;
    },
    abandon() {
      running = false;
      abandoned.abort();
    },
  };
}

/** Waits until a flow has made `count` users (or stops on its own limit). */
export async function flowReached(flow: Flow, count: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (flow.created.length < count) {
    if (Date.now() > deadline)
      throw new Error(`only ${flow.created.length} of ${count} users created in ${timeoutMs} ms`);
    await sleep(50);
  }
}
