import { readHistory, readInstance, readTimers } from '../../db/actor-queries.js';
import type { QueryRunner } from '../../db/prepared.js';
import { exitCode, type CliIo } from '../../dead-letters/cli/io.js';
import { formatInstanceDetails, noSuchInstanceMessage } from '../show-output.js';

/** A history longer than this is cut (retention bounds it anyway); the output says so. */
const maxHistory = 1_000;

/** `actors show`: the row, then its timers and history (separate reads: a transition in between may show). */
export async function showCommand(
  db: QueryRunner,
  io: CliIo,
  { actor, instanceId }: { actor: string; instanceId: string },
): Promise<number> {
  const instance = await readInstance(db, actor, instanceId);
  if (instance === undefined) {
    io.err(`ackstate: ${noSuchInstanceMessage(actor, instanceId)}\n`);
    return exitCode.failed;
  }
  const timers = await readTimers(db, actor, instanceId);
  const history = await readHistory(db, actor, instanceId, { limit: maxHistory + 1 });
  const details = {
    instance,
    timers,
    history: history.slice(0, maxHistory),
    historyCut: history.length > maxHistory,
  };
  io.out(formatInstanceDetails(details, io.now()));
  return exitCode.done;
}
