import type { ChannelModel } from 'amqplib';
import { findDeadLetters } from '../find-dead-letters.js';
import { exitCode, type CliIo } from '../io.js';
import { formatShowJson, formatShowText, showJsonDocument } from '../show-output.js';
import { escapeForTerminal } from '../terminal-text.js';
import { readDeadLetters } from './read-dead-letters.js';

export async function showCommand(
  connection: ChannelModel,
  io: CliIo,
  options: { queue: string; target: string; json: boolean },
): Promise<number> {
  const { deadLetterQueue, letters } = await readDeadLetters(connection, options.queue);
  const found = findDeadLetters(letters, options.target);
  if (found.length === 0) {
    io.err(
      `ackstate: no dead letter with message id or position ${escapeForTerminal(options.target)} in ` +
        `${deadLetterQueue} (${letters.length} there)\n`,
    );
    return exitCode.failed;
  }
  const now = io.now();
  if (options.json) {
    io.out(formatShowJson(found.map((letter) => showJsonDocument(deadLetterQueue, letters.length, letter, now))));
  } else {
    io.out(found.map((letter) => formatShowText(deadLetterQueue, letters.length, letter, now)).join('\n'));
  }
  return exitCode.done;
}
