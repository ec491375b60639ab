import type { ChannelModel } from 'amqplib';
import { checkDeadLetterQueue, purgeDeadLetterQueue } from '../../queue.js';
import { exitCode, type CliIo } from '../io.js';

/** Asked only on a terminal; without one the command was refused before connecting (see run.ts). */
export async function purgeCommand(
  connection: ChannelModel,
  io: CliIo,
  options: { queue: string; yes: boolean },
): Promise<number> {
  if (!options.yes) {
    const { deadLetterQueue, messageCount } = await checkDeadLetterQueue(connection, options.queue);
    const answer = await io.ask(
      `This deletes the ${messageCount} dead letter(s) now in ${deadLetterQueue}, for good.\n` +
        `Type the queue name (${deadLetterQueue}) to confirm: `,
    );
    if (answer.trim() !== deadLetterQueue) {
      io.err('ackstate: not confirmed; nothing purged\n');
      return exitCode.refused;
    }
  }
  const { deadLetterQueue, purged } = await purgeDeadLetterQueue(connection, options.queue);
  io.out(`purged ${purged} dead letter${purged === 1 ? '' : 's'} from ${deadLetterQueue}\n`);
  return exitCode.done;
}
