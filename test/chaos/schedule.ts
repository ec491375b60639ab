/**
 * The chaos run's fault schedule: random, but drawn from a seed, so a run that found something can be
 * replayed with the same faults at the same moments.
 */
export type FaultKind =
  'kill-process' | 'restart-broker' | 'terminate-sessions' | 'database-outage' | 'broker-link-cut';
export type Target = 'user' | 'card';

export interface Fault {
  readonly atMs: number;
  readonly kind: FaultKind;
  readonly target: Target;
  /** Which instance of the target (kill-process) or how long the fault lasts (outages, cuts, restarts). */
  readonly instance: number;
  readonly durationMs: number;
}

export const faultKinds: readonly FaultKind[] = [
  'kill-process',
  'restart-broker',
  'terminate-sessions',
  'database-outage',
  'broker-link-cut',
];

/** mulberry32: a small, well-known seeded generator; good enough to pick faults, not for anything secret. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** Mean gap between the end of one fault and the start of the next. */
  readonly meanGapMs: number;
  readonly instances: number;
}

export function faultSchedule({ seed, durationMs, meanGapMs, instances }: ScheduleOptions): Fault[] {
  const random = seededRandom(seed);
  const between = (low: number, high: number) => Math.round(low + random() * (high - low));
  const faults: Fault[] = [];
  let at = between(meanGapMs / 2, meanGapMs * 1.5);
  while (at < durationMs) {
    const kind = faultKinds[Math.floor(random() * faultKinds.length)]!;
    const target: Target = random() < 0.5 ? 'user' : 'card';
    const instance = Math.floor(random() * instances);
    const durationMs = kind === 'terminate-sessions' ? 0 : between(1_000, 4_000);
    faults.push({ atMs: at, kind, target, instance, durationMs });
    at += durationMs + between(meanGapMs / 2, meanGapMs * 1.5);
  }
  return faults;
}
