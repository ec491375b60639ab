/** `actors list` output: one aligned line per instance, and what to say when there is none. */
import type { StateCount } from '../db/actor-queries.js';
import type { ActorInstanceSummary } from '../db/actor-queries.js';
import { escapeForTerminal } from '../dead-letters/cli/terminal-text.js';
import { formatTable, formatTime } from './text-table.js';

/** What a list found: at most `limit` instances, and whether more matched. */
export interface InstanceListing {
  readonly actor: string;
  readonly state: string | undefined;
  readonly instances: readonly ActorInstanceSummary[];
  readonly limit: number;
  readonly more: boolean;
}

const titles = ['ID', 'STATE', 'STATUS', 'VERSION', 'ROW', 'CREATED', 'UPDATED', 'CLOSED'];

const cells = (instance: ActorInstanceSummary) => [
  instance.instanceId,
  instance.state,
  instance.status,
  String(instance.definitionVersion),
  String(instance.rowVersion),
  formatTime(instance.createdAt),
  formatTime(instance.updatedAt),
  formatTime(instance.closedAt),
];

function described({ actor, state }: Pick<InstanceListing, 'actor' | 'state'>): string {
  const inState = state === undefined ? '' : ` in state ${escapeForTerminal(state)}`;
  return `of ${escapeForTerminal(actor)}${inState}`;
}

/** The table, newest first as listed, under a line that counts them; a last line when more exist. */
export function formatInstanceList(listing: InstanceListing): string {
  const { instances, limit, more } = listing;
  const count = more ? `the newest ${instances.length}` : String(instances.length);
  const noun = instances.length === 1 && !more ? 'instance' : 'instances';
  const lines = [`${count} ${noun} ${described(listing)}`, ...formatTable(titles, instances.map(cells))];
  if (more)
    lines.push(
      `more exist: raise --limit (now ${limit})${listing.state === undefined ? ' or narrow with --state' : ''}`,
    );
  return `${lines.join('\n')}\n`;
}

/**
 * An empty list in a state, when the actor has instances elsewhere: not a failure, and the states they are
 * in say what to ask for instead.
 */
export function formatNoneInState(actor: string, state: string, counts: readonly StateCount[]): string {
  const states = counts.map((each) => `${escapeForTerminal(each.state)} ${each.count}`).join(', ');
  return `no instances ${described({ actor, state })} (by state: ${states})\n`;
}

/** Why there is nothing at all to list: a name nobody uses, or an actor whose instances are all gone. */
export function noSuchActorMessage(actor: string): string {
  return `no instances of actor ${escapeForTerminal(actor)} in this database (is it the name given to defineActor, and this the service's database? closed instances are removed after the deduplication window)`;
}
