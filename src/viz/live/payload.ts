/**
 * What the live page is sent (`/viz/state.json`, the `/viz/events` stream and the actors' routes), in one file
 * without imports, so that the server's monitor and the page's script (`browser/app.ts`) compile against the
 * same types.
 */
export interface MachineCounts {
  /** Actors in each state right now (ancestors of the current state included). */
  readonly now: Record<string, number>;
  /** Entries into each state since the process started. */
  readonly entered: Record<string, number>;
  /** Transitions taken since the process started, by transition key (see `src/viz/charts/chart.ts`). */
  readonly transitions: Record<string, number>;
}

export interface ActorStatus {
  /** `supervisor`, `connection`, `consumer:user`, `outbox:card`, … */
  readonly name: string;
  readonly machine: string;
  readonly state: string;
  readonly status: string;
  /** Epoch milliseconds when it entered the state. */
  readonly since: number;
  readonly error: string | undefined;
  /** Consumers: the service and consumer they are, and their queue. */
  readonly service: string | undefined;
  readonly consumer: string | undefined;
  readonly queue: string | undefined;
}

export interface LiveStats {
  readonly startedAt: number;
  readonly machines: Record<string, MachineCounts>;
  readonly actors: readonly ActorStatus[];
  readonly deliveriesInFlight: number;
}

export interface PathStep {
  readonly state: string;
  /** Epoch milliseconds when the state was entered. */
  readonly at: number;
  /** Milliseconds spent in the state; absent while in it, and for the final state. */
  ms?: number;
}

/** A recent delivery as the page reads it. */
export interface DeliveryRecord {
  /** Increasing per delivery seen by this process: the record's identity. */
  readonly seq: number;
  /** The service and the consumer whose delivery it is, and the queue it came from. */
  readonly service: string | undefined;
  readonly consumer: string | undefined;
  readonly queue: string | undefined;
  /** The message id, or the inbox key when the message has none (as in the log). */
  readonly messageId: string | undefined;
  readonly key: string | undefined;
  readonly deliveryTag: number | undefined;
  readonly redelivered: boolean;
  /** How many deliveries shared its batch (1: it ran alone). */
  readonly batch: number;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
  readonly path: readonly PathStep[];
  readonly attempts: number;
  readonly outcome: string | undefined;
  readonly error: string | undefined;
  readonly failureKind: string | undefined;
  readonly deadLetterReason: string | undefined;
  /** The body's id fields (`id`, `user_id`, …) once decoded, for search. */
  readonly ids: Readonly<Record<string, string>>;
  /** The monitor version of the last change to this record. */
  readonly version: number;
}

export interface StreamPayload {
  readonly version: number;
  readonly stats: LiveStats;
  readonly deliveries: readonly DeliveryRecord[];
  /** True when `deliveries` is the whole list (a snapshot), false for only the changed ones. */
  readonly complete: boolean;
}

/** A durable actor's instances by state (`/viz/actors.json`), or the error that kept them from being read. */
export interface ActorCounts {
  /** The actor's name: its chart's panel and its rows in the database. */
  readonly name: string;
  readonly service: string;
  /** The id of its machine. */
  readonly machine: string;
  /** Epoch milliseconds of the read. */
  readonly at: number;
  /** Instances in each state path now, ancestors included (closed ones in their final state). */
  readonly now: Record<string, number>;
  readonly instances: number;
  readonly error?: string;
}

/** One transition of an instance, from its history. */
export interface InstanceStep {
  readonly event: string;
  /** Null for the transition that created the instance. */
  readonly from: string | null;
  readonly to: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly messageId: string | null;
  readonly published: readonly string[];
}

/** One instance and its path (`/viz/actors/<name>/instances/<id>.json`). */
export interface InstancePath {
  readonly actor: string;
  readonly instance: {
    readonly instanceId: string;
    readonly state: string;
    readonly status: string;
    readonly rowVersion: number;
    readonly definitionVersion: number;
    readonly createdAt: number;
    readonly updatedAt: number;
    readonly closedAt: number | null;
  };
  /** Oldest first; retention may have removed the oldest steps of a long-lived instance. */
  readonly path: readonly InstanceStep[];
  /** True when the instance has more steps than the path shows. */
  readonly truncated: boolean;
}
