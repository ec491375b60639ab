/**
 * Is every transition in the log? Two independent counts of one ackstate process's state changes, by
 * machine and state left (`machine:state`): the `transition` lines of its log file (by their `from`), and
 * its own metrics, where `ackstate_state_duration_seconds_count` counts every state left (read from
 * /metrics just before the process stops). Every state left that the metrics counted must have its line;
 * the log may hold more (a delivery's first step, an actor's first snapshot). The relays' and retention's
 * idle sweeps are logged at debug by design, so at the default level only the other machines are compared.
 */
export type CountsByMachine = Record<string, number>;

export interface TransitionCheck {
  readonly logged: CountsByMachine;
  readonly metered: CountsByMachine;
  /** `machine:state` (machines logged at info) whose log holds fewer lines leaving it than the metrics counted. */
  readonly missing: CountsByMachine;
}

export const debugLevelMachines = ['outboxRelay', 'retention'];

export function countLoggedTransitions(logText: string): CountsByMachine {
  const counts: CountsByMachine = {};
  for (const line of logText.split('\n')) {
    if (!line.includes('"transition"')) continue;
    try {
      const entry = JSON.parse(line) as { message?: unknown; machine?: unknown; from?: unknown };
      if (entry.message !== 'transition' || typeof entry.machine !== 'string') continue;
      const key = `${entry.machine}:${typeof entry.from === 'string' ? entry.from : '(first)'}`;
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // a line cut by the process's end
    }
  }
  return counts;
}

export function countMeteredTransitions(metricsText: string): CountsByMachine {
  const counts: CountsByMachine = {};
  const sample = /^ackstate_state_duration_seconds_count\{([^}]*)\} (\d+(?:\.\d+)?)$/;
  for (const line of metricsText.split('\n')) {
    const match = sample.exec(line);
    if (!match) continue;
    const machine = /machine="([^"]+)"/.exec(match[1]!)?.[1];
    const state = /state="([^"]+)"/.exec(match[1]!)?.[1];
    if (machine && state) counts[`${machine}:${state}`] = (counts[`${machine}:${state}`] ?? 0) + Number(match[2]);
  }
  return counts;
}

export function compareTransitions(logged: CountsByMachine, metered: CountsByMachine): TransitionCheck {
  const missing: CountsByMachine = {};
  for (const [key, count] of Object.entries(metered)) {
    if (debugLevelMachines.includes(key.split(':')[0]!)) continue;
    const shortfall = count - (logged[key] ?? 0);
    if (shortfall > 0) missing[key] = shortfall;
  }
  return { logged, metered, missing };
}

export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return response.text();
}
