/**
 * What a durable actor's handler returns for each message: the completed log line is written from it by
 * the runtime (`describeCompleted`), never by the handler.
 */

/** The event changed the instance: it started it, or moved it (perhaps to the state it was in). */
export interface AppliedResult {
  readonly outcome: 'started' | 'applied';
  readonly actor: string;
  readonly instanceId: string;
  readonly event: string;
  /** The state before; undefined when the event started the instance. */
  readonly from: string | undefined;
  readonly to: string;
  /** The instance reached a final state. */
  readonly done: boolean;
  /** The ids of the messages the step published. */
  readonly published: readonly string[];
}

/** The event changed nothing, by the source's `whenMissing: 'ignore'` (or a repeated start). */
export interface IgnoredResult {
  readonly outcome: 'ignored';
  readonly actor: string;
  readonly instanceId: string;
  readonly event: string;
  readonly reason: string;
}

/** What a message of an event source did. */
export type EventResult = AppliedResult | IgnoredResult;

/** What a timer firing did; `lagMs` is the time from the timer's due time to its firing being applied. */
export type FiringResult = (EventResult | StaleFiringResult) & {
  readonly timerId: string;
  readonly lagMs: number;
};

/** A firing for a timer that is no longer set: its instance left the state, or it fired already. */
export interface StaleFiringResult {
  readonly outcome: 'stale';
  readonly actor: string;
  readonly instanceId: string;
  readonly event: string;
  readonly reason: string;
}

/** The completed log line of an event source's message. */
export function describeEvent(result: EventResult | StaleFiringResult): string {
  const what = `${result.actor} ${result.instanceId}`;
  switch (result.outcome) {
    case 'started':
      return `Started ${what} in state ${result.to} on ${result.event}${publishedText(result)}`;
    case 'applied':
      return `Moved ${what} from ${result.from} to ${result.to} on ${result.event}${publishedText(result)}`;
    case 'ignored':
      return `Ignored ${result.event} for ${what}: ${result.reason}`;
    case 'stale':
      return `Skipped ${result.event} for ${what}: ${result.reason}`;
  }
}

/** The completed log line of a timer firing. */
export function describeFiring(result: FiringResult): string {
  return `${describeEvent(result)} (timer ${result.timerId}, ${Math.round(result.lagMs)} ms after its due time)`;
}

function publishedText(result: AppliedResult): string {
  const count = result.published.length;
  const closed = result.done ? ', closed' : '';
  return count === 0 ? closed : `${closed}, published ${count} message${count === 1 ? '' : 's'}`;
}

const outcomes: ReadonlySet<string> = new Set(['started', 'applied', 'ignored', 'stale']);

/** True for what a durable actor's handler returned (a delivery's `results` hold any consumer's). */
export function isActorResult(value: unknown): value is EventResult | FiringResult {
  if (typeof value !== 'object' || value === null) return false;
  const { outcome, actor } = value as { outcome?: unknown; actor?: unknown };
  return typeof actor === 'string' && typeof outcome === 'string' && outcomes.has(outcome);
}
