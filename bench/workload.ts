/**
 * The two ways users are created through the HTTP API:
 * - closed loop: `concurrency` clients, each posting its next user as soon as its last POST answered
 *   (the peak throughput);
 * - open loop: one POST every 1/rate seconds whatever the answers, latency counted from the scheduled
 *   time (so a slow answer cannot hide the requests it held back).
 * Either way a user is done when the CardWatcher sees its card stored.
 */
import { performance } from 'node:perf_hooks';
import type { CardWatcher } from './card-watcher.js';
import type { UserClient } from './http-client.js';

export interface WorkloadResult {
  readonly users: number;
  /** From the first POST to the poll that saw the last card. */
  readonly seconds: number;
  readonly postSeconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function closedLoop(options: {
  client: UserClient;
  watcher: CardWatcher;
  firstIndex: number;
  users: number;
  concurrency: number;
  drainTimeoutMs: number;
}): Promise<WorkloadResult> {
  const { client, watcher, firstIndex, users, concurrency } = options;
  let next = 0;
  const began = performance.now();
  const worker = async () => {
    while (next < users) {
      const index = firstIndex + next;
      next += 1;
      const startedAt = performance.now();
      watcher.watch(await client.createUser(index), startedAt);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, users) }, worker));
  const posted = performance.now();
  await watcher.drained(options.drainTimeoutMs);
  return { users, seconds: (watcher.lastCompletionAt - began) / 1000, postSeconds: (posted - began) / 1000 };
}

export async function openLoop(options: {
  client: UserClient;
  watcher: CardWatcher;
  firstIndex: number;
  users: number;
  perSecond: number;
  drainTimeoutMs: number;
}): Promise<WorkloadResult> {
  const { client, watcher, firstIndex, users, perSecond } = options;
  const began = performance.now();
  const requests: Promise<void>[] = [];
  for (let sent = 0; sent < users; sent += 1) {
    const scheduledAt = began + (sent * 1000) / perSecond;
    const wait = scheduledAt - performance.now();
    if (wait > 1) await sleep(wait);
    requests.push(client.createUser(firstIndex + sent).then((id) => watcher.watch(id, scheduledAt)));
  }
  await Promise.all(requests);
  const posted = performance.now();
  await watcher.drained(options.drainTimeoutMs);
  return { users, seconds: (watcher.lastCompletionAt - began) / 1000, postSeconds: (posted - began) / 1000 };
}
