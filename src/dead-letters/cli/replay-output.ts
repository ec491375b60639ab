/** `dlq replay` output: a summary line on stdout (or a JSON document), what went wrong on stderr. */
import type { ReplayOutcome } from '../replay.js';
import { escapeForTerminal, escapeJsonForTerminal } from './terminal-text.js';

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

function countsByQueue(outcome: ReplayOutcome): string {
  const counts = new Map<string, number>();
  for (const { queue } of outcome.replayed) counts.set(queue, (counts.get(queue) ?? 0) + 1);
  return [...counts].map(([queue, count]) => `${escapeForTerminal(queue)}: ${count}`).join(', ');
}

export function formatReplaySummary(outcome: ReplayOutcome): string {
  const attempted = outcome.replayed.length + outcome.failed.length;
  const from = escapeForTerminal(outcome.deadLetterQueue);
  if (attempted === 0) return `nothing replayed from ${from}: no dead letter selected\n`;
  const targets = outcome.replayed.length > 0 ? ` (to ${countsByQueue(outcome)})` : '';
  return `replayed ${outcome.replayed.length} of ${plural(attempted, 'selected dead letter')} from ${from} at ${outcome.replayedAt.toISOString()}${targets}\n`;
}

export function formatReplayProblems(outcome: ReplayOutcome): string {
  const from = escapeForTerminal(outcome.deadLetterQueue);
  const lines = outcome.failed.map(
    (failure) =>
      `not replayed (left in ${from}): position ${failure.position}, message id ${escapeForTerminal(failure.messageId ?? '-')}, ` +
      `to ${escapeForTerminal(failure.queue)}: ${escapeForTerminal(failure.reason)}`,
  );
  if (outcome.notFound.length > 0) {
    lines.push(`not found in ${from}: ${outcome.notFound.map((id) => escapeForTerminal(id)).join(', ')}`);
  }
  if (outcome.stoppedBecause !== undefined) {
    lines.push(
      `stopped early (${escapeForTerminal(outcome.stoppedBecause)}); the dead letters not yet reached stay in ${from}`,
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

export function formatReplayJson(outcome: ReplayOutcome): string {
  const document = {
    ...outcome,
    replayedAt: outcome.replayedAt.toISOString(),
    stoppedBecause: outcome.stoppedBecause ?? null,
  };
  return `${escapeJsonForTerminal(JSON.stringify(document, null, 2))}\n`;
}

export const replaySucceeded = (outcome: ReplayOutcome) =>
  outcome.failed.length === 0 && outcome.notFound.length === 0 && outcome.stoppedBecause === undefined;
