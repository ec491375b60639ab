/** The help texts: `ackstate --help`, `ackstate dlq --help` and each command's `--help`. */
export const commandNames = ['list', 'show', 'replay', 'purge'] as const;
export type CommandName = (typeof commandNames)[number];

const connection = `Connection:
  --url <amqp-url>   the broker: one amqp:// or amqps:// URL, or several separated by commas (tried in
                     order). Default: $AMQP_URL, else amqp://127.0.0.1:5672 as guest/guest (as the services).
                     For amqps:// the AMQP_CA_FILE, AMQP_CERT_FILE and AMQP_KEY_FILE variables apply.
                     Passwords are never printed.`;

const exitStatus = `Exit status: 0 done; 1 failed (broker unreachable, no such queue, a dead letter not found or
not replayed); 2 bad arguments or settings, or purge not confirmed.`;

export const dlqUsage = `Usage: ackstate dlq <command> <queue> [options]

The dead letters of <queue> are the messages in <queue>.dead, where the services put what they could not
process (src/policies/dead-letter.ts describes their headers). Give the original queue's name.

Commands:
  list <queue>                        one line per dead letter: position, id, kind, attempts, age, size, reason
  show <queue> <message-id|position>  one dead letter in full: properties, headers, body
  replay <queue> --id <id>... | --all | --limit <n>
                                      publish dead letters again to their original queue
  purge <queue> [--yes]               delete every dead letter of <queue>

Run "ackstate dlq <command> --help" for a command's options.

${connection}

${exitStatus}
`;

export const topUsage = `Usage: ackstate <command> [options]

Commands:
  dlq list <queue>                        list the dead letters of <queue> (kept in <queue>.dead)
  dlq show <queue> <message-id|position>  show one dead letter in full
  dlq replay <queue> --id <id>... | --all | --limit <n>
                                          publish dead letters again to their original queue
  dlq purge <queue> [--yes]               delete every dead letter of <queue>
  actors list <actor> [--state <state>]   list the instances of a durable actor, newest first
  actors show <actor> <instance-id>       show one instance: its row, pending timers and history

Options:
  -h, --help   show help; "ackstate dlq --help", "ackstate actors --help" and "… <command> --help" say more

${exitStatus}
"ackstate actors --help" has the actors commands' options and exit status.
`;

export const commandUsage: Readonly<Record<CommandName, string>> = {
  list: `Usage: ackstate dlq list <queue> [--json] [--url <amqp-url>]

Lists the dead letters in <queue>.dead, head first: position (1 is the head), message id, failure kind
(poison or transient), attempts, age (since x-ackstate-dead-lettered-at), body size, earlier replays and
the reason (cut short; "dlq show" has it in full).

It reads every dead letter without acknowledging it and returns them all at the end (nack with requeue):
nothing is removed, and in a classic queue each keeps its position. The queue is only checked, never
declared: a missing queue is an error ("no such queue"), not created.

Options:
  --json       a JSON document instead of the table
  -h, --help   this text

${connection}
`,
  show: `Usage: ackstate dlq show <queue> <message-id|position> [--json] [--url <amqp-url>]

Shows one dead letter of <queue>.dead in full: every property and header, and the body. A JSON body is
re-indented (its tokens kept as sent); other UTF-8 text is shown with control characters escaped; anything
else as base64. Output is escaped so that message content cannot drive the terminal.

The second argument is looked up as a message id first; if no dead letter has that id and it is a whole
number, it is the position shown by "dlq list" (1 is the head). Every dead letter with that id is shown.
Like list, show removes nothing.

Options:
  --json       a JSON array of the dead letters found (the body as UTF-8 text, or base64 when it is not UTF-8)
  -h, --help   this text

${connection}
`,
  replay: `Usage: ackstate dlq replay <queue> (--id <message-id>... | --all | --limit <n>) [--json] [--url <amqp-url>]

Publishes dead letters of <queue>.dead again, to the queue they came from (header
x-ackstate-original-queue, else <queue>), on a confirm channel, persistent and mandatory. Each keeps its
body, content type and message id; the x-ackstate-* dead-letter headers are removed and these added:
  x-ackstate-replayed-at     when this replay ran (ISO 8601; the same for every message of one run)
  x-ackstate-replay-count    earlier replays + 1
  x-ackstate-replayed-from   the dead-letter queue
A dead letter is removed only after the broker has confirmed its publish. One whose publish fails (the
target queue does not exist, the broker refuses it, no confirm in time) stays in <queue>.dead, and the
exit status is 1. Only the dead letters present when the replay starts are considered, so a message that
fails again and comes back during the run is not replayed twice.

Replay is safe to repeat: the consumers keep an inbox keyed by each message's natural key (a user's or a
card's id), so a message that was in fact processed before is acked as a duplicate, not processed twice.
A message whose failure still holds is dead-lettered again (its replay count tells how often).

Selection (exactly one):
  --id <message-id>   the dead letters with this message id; repeat for several
  --all               every dead letter
  --limit <n>         the first n dead letters (from the head)

Options:
  --json       a JSON summary instead of the text summary
  -h, --help   this text

Progress ("replayed 120/500") goes to stderr when 100 or more are selected; the summary to stdout.

${connection}
`,
  purge: `Usage: ackstate dlq purge <queue> [--yes] [--url <amqp-url>]

Deletes every dead letter in <queue>.dead (dead letters held unacknowledged by a running list, show or
replay are not affected) and reports how many were deleted. It asks you to type the dead-letter queue's
name to confirm. Without a terminal on stdin it asks nothing and refuses (exit status 2), unless --yes.

Options:
  -y, --yes    do not ask
  -h, --help   this text

${connection}
`,
};
