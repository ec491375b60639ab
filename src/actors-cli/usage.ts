/** The help texts of `ackstate actors`: the group's and each command's. */
export const actorsCommandNames = ['list', 'show'] as const;
export type ActorsCommandName = (typeof actorsCommandNames)[number];

/** The most `actors list` prints unless told otherwise. */
export const defaultListLimit = 50;

const database = `Database:
  --database <postgres-url>   the service's database (where the runtime keeps its actors' tables).
                              Default: $DATABASE_URL. Passwords are never printed.`;

const exitStatus = `Exit status: 0 done; 1 failed (database unreachable, no such actor or instance); 2 bad arguments
or no database given.`;

export const actorsUsage = `Usage: ackstate actors <command> <actor> [options]

The durable actors' instances as the runtime keeps them in a service's database. <actor> is the name
given to defineActor. Nothing is changed: both commands only read.

Commands:
  list <actor> [--state <state>] [--limit <n>]   instances, newest first
  show <actor> <instance-id>                     one instance, its pending timers and its history

Run "ackstate actors <command> --help" for a command's options.

${database}

${exitStatus}
`;

export const actorsCommandUsage: Readonly<Record<ActorsCommandName, string>> = {
  list: `Usage: ackstate actors list <actor> [--state <state>] [--limit <n>] [--database <postgres-url>]

Lists instances of <actor>, newest first: instance id, state, status (active, or done once closed), the
definition version it runs, its row version (1 when created, one more at every transition), and when it
was created, last updated and closed (UTC). At most --limit are shown; a last line says when more exist.

Options:
  --state <state>   only instances in this state (as the list shows it: "waiting", "payment.pending")
  --limit <n>       at most n instances (default ${defaultListLimit})
  -h, --help        this text

${database}
`,
  show: `Usage: ackstate actors show <actor> <instance-id> [--database <postgres-url>]

Shows one instance of <actor>: its row, its pending timers (with their due times, and whether a firing
loop has claimed them) and its history in order: event, from and to state, time, the message id of the
delivery and the ids of the messages the transition published. Retention may have removed the oldest
transitions; a closed instance goes with its history after the deduplication window.

Options:
  -h, --help   this text

${database}
`,
};
