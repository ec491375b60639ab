import { countInstancesByState, listInstances } from '../../db/actor-queries.js';
import type { QueryRunner } from '../../db/prepared.js';
import { exitCode, type CliIo } from '../../dead-letters/cli/io.js';
import { formatInstanceList, formatNoneInState, noSuchActorMessage } from '../list-output.js';

/** `actors list`: reads one more than the limit, to say whether more exist. */
export async function listCommand(
  db: QueryRunner,
  io: CliIo,
  { actor, state, limit }: { actor: string; state: string | undefined; limit: number },
): Promise<number> {
  const found = await listInstances(db, actor, { state, limit: limit + 1, order: 'newest' });
  if (found.length === 0) {
    const counts = state === undefined ? [] : await countInstancesByState(db, actor);
    if (counts.length === 0) {
      io.err(`ackstate: ${noSuchActorMessage(actor)}\n`);
      return exitCode.failed;
    }
    io.out(formatNoneInState(actor, state!, counts));
    return exitCode.done;
  }
  const more = found.length > limit;
  io.out(formatInstanceList({ actor, state, instances: found.slice(0, limit), limit, more }));
  return exitCode.done;
}
