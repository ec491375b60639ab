/**
 * Failpoints: faults injected at named steps, for the scenario tests. Off unless the FAILPOINTS
 * environment variable, read once at start, names them; nothing over HTTP can turn them on.
 *
 *   FAILPOINTS="card.persist=error*3;user.persist=error*2;card.beforeAck=exit*1"
 *
 * `error*N` throws at the step for its first N passes; `exit*N` ends the process abruptly (as a crash
 * would) on its Nth pass. Steps: `<service>.persist` (inside the transaction), `<service>.beforeAck`
 * (after the commit, before the ack).
 */
export class FailpointError extends Error {
  override name = 'FailpointError';
}

interface Failpoint {
  readonly action: 'error' | 'exit';
  remaining: number;
}

export interface Failpoints {
  hit(name: string): void;
}

export function parseFailpoints(spec: string): Map<string, Failpoint> {
  const points = new Map<string, Failpoint>();
  for (const entry of spec
    .split(/[;,]/)
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z][A-Za-z0-9_-]*\.[a-zA-Z]+)=(error|exit)\*(\d+)$/.exec(entry);
    if (!match) throw new Error(`FAILPOINTS: cannot read "${entry}" (expected <service>.<step>=error*N or exit*N)`);
    points.set(match[1]!, { action: match[2] as Failpoint['action'], remaining: Number(match[3]) });
  }
  return points;
}

export function createFailpoints(spec: string, exit: (code: number) => never = process.exit): Failpoints {
  const points = parseFailpoints(spec);
  if (points.size === 0) return { hit: () => {} };
  return {
    hit(name) {
      const point = points.get(name);
      if (!point || point.remaining <= 0) return;
      point.remaining -= 1;
      if (point.action === 'error') throw new FailpointError(`failpoint ${name}`);
      if (point.remaining === 0) exit(137);
    },
  };
}
