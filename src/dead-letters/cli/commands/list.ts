import type { ChannelModel } from 'amqplib';
import { summarizeDeadLetter } from '../dead-letter-summary.js';
import { exitCode, type CliIo } from '../io.js';
import { formatListJson, formatListTable } from '../list-output.js';
import { readDeadLetters } from './read-dead-letters.js';

export async function listCommand(
  connection: ChannelModel,
  io: CliIo,
  options: { queue: string; json: boolean },
): Promise<number> {
  const { deadLetterQueue, letters } = await readDeadLetters(connection, options.queue);
  const now = io.now();
  const summaries = letters.map((letter) => summarizeDeadLetter(letter.message, letter.position, now));
  io.out(
    options.json
      ? formatListJson(options.queue, deadLetterQueue, summaries)
      : formatListTable(deadLetterQueue, summaries),
  );
  return exitCode.done;
}
