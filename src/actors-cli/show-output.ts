/** `actors show` output: the instance's row, its pending timers and its history, in that order. */
import type { ActorInstance, ActorTransition, StoredTimer } from '../db/actor-queries.js';
import { escapeForTerminal } from '../dead-letters/cli/terminal-text.js';
import { formatRelative, formatTable, formatTime } from './text-table.js';

/** What `show` read of one instance. */
export interface InstanceDetails {
  readonly instance: ActorInstance;
  readonly timers: readonly StoredTimer[];
  readonly history: readonly ActorTransition[];
  /** True when the history was cut at `history.length` transitions (more were recorded after). */
  readonly historyCut: boolean;
}

/** The event type a timer sends, when its stored event has one. */
function eventType(event: unknown): string {
  if (typeof event === 'object' && event !== null && 'type' in event) {
    const type = (event as { type: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return JSON.stringify(event) ?? '-';
}

function rowLines(instance: ActorInstance): string[] {
  const fields: [string, string][] = [
    ['actor', instance.actor],
    ['instance', instance.instanceId],
    ['state', instance.state],
    ['status', instance.status],
    ['definition version', String(instance.definitionVersion)],
    ['row version', String(instance.rowVersion)],
    ['created', formatTime(instance.createdAt)],
    ['updated', formatTime(instance.updatedAt)],
    ['closed', formatTime(instance.closedAt)],
  ];
  const width = Math.max(...fields.map(([name]) => name.length)) + 1;
  return fields.map(([name, value]) => `${`${name}:`.padEnd(width)} ${escapeForTerminal(value)}`);
}

function timerLines(timers: readonly StoredTimer[], now: Date): string[] {
  if (timers.length === 0) return ['no pending timers'];
  const rows = timers.map((timer) => [
    timer.timerId,
    // An `after` delay's event is named as its timer: said once.
    eventType(timer.event) === timer.timerId ? '(its id)' : eventType(timer.event),
    formatTime(timer.dueAt),
    formatRelative(timer.dueAt, now),
    timer.sentAt === null ? '-' : formatTime(timer.sentAt),
  ]);
  const noun = timers.length === 1 ? 'pending timer' : 'pending timers';
  return [`${timers.length} ${noun}`, ...formatTable(['TIMER', 'EVENT', 'DUE', 'DUE IN', 'CLAIMED'], rows)];
}

function historyLines(history: readonly ActorTransition[], cut: boolean): string[] {
  if (history.length === 0) return ['no history (retention may have removed it)'];
  const rows = history.map((step, index) => [
    String(index + 1),
    formatTime(step.at),
    step.eventType,
    step.fromState ?? '-',
    step.toState,
    step.messageId ?? '-',
    step.published.length === 0 ? '-' : step.published.join(','),
  ]);
  const noun = history.length === 1 ? 'transition' : 'transitions';
  const lines = [
    `history: ${history.length} ${noun}${cut ? ' (the first ones; more were recorded)' : ''}, oldest first`,
    ...formatTable(['#', 'TIME', 'EVENT', 'FROM', 'TO', 'MESSAGE ID', 'PUBLISHED'], rows),
  ];
  return lines;
}

/** The three parts, a blank line between them. Due times are shown relative to `now` too. */
export function formatInstanceDetails(details: InstanceDetails, now: Date): string {
  const parts = [
    rowLines(details.instance),
    timerLines(details.timers, now),
    historyLines(details.history, details.historyCut),
  ];
  return `${parts.map((lines) => lines.join('\n')).join('\n\n')}\n`;
}

/** Why there is nothing to show. */
export function noSuchInstanceMessage(actor: string, instanceId: string): string {
  return `no instance ${escapeForTerminal(instanceId)} of actor ${escapeForTerminal(actor)} in this database (closed instances are removed after the deduplication window)`;
}
