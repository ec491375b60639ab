/**
 * Is every transition in the log? Two independent counts of one ackstate process's state changes, by
 * machine: the `transition` lines of its log file, and its own metrics, where
 * `ackstate_state_duration_seconds_count` counts every state left (read from /metrics just before the
 * process stops). The relays' and retention's idle sweeps are logged at debug by design, so at the default
 * level only the other machines are compared.
 */
export type CountsByMachine = Record<string, number>;

export interface TransitionCheck {
  readonly logged: CountsByMachine;
  readonly metered: CountsByMachine;
  /** Machines logged at info whose log holds fewer transitions than their metrics counted. */
  readonly missing: CountsByMachine;
}

export const debugLevelMachines = ['outboxRelay', 'retention'];

export function countLoggedTransitions(logText: string): CountsByMachine {
  const counts: CountsByMachine = {};
  for (const line of logText.split('\n')) {
    if (!line.includes('"transition"')) continue;
    try {
      const entry = JSON.parse(line) as { message?: unknown; machine?: unknown };
      if (entry.message !== 'transition' || typeof entry.machine !== 'string') continue;
      counts[entry.machine] = (counts[entry.machine] ?? 0) + 1;
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
    if (machine) counts[machine] = (counts[machine] ?? 0) + Number(match[2]);
  }
  return counts;
}

export function compareTransitions(logged: CountsByMachine, metered: CountsByMachine): TransitionCheck {
  const missing: CountsByMachine = {};
  for (const [machine, count] of Object.entries(metered)) {
    if (debugLevelMachines.includes(machine)) continue;
    const shortfall = count - (logged[machine] ?? 0);
    if (shortfall > 0) missing[machine] = shortfall;
  }
  return { logged, metered, missing };
}

export async function scrapeMetrics(baseUrl: string): Promise<string> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return response.text();
}
