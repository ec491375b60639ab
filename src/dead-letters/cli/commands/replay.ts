import type { ChannelModel } from 'amqplib';
import { replayDeadLetters, type Selection } from '../../replay.js';
import { exitCode, type CliIo } from '../io.js';
import { progressReporter } from '../progress.js';
import { formatReplayJson, formatReplayProblems, formatReplaySummary, replaySucceeded } from '../replay-output.js';

/** As the services' default PUBLISH_TIMEOUT_MS. */
const publishTimeoutMs = 5_000;

export async function replayCommand(
  connection: ChannelModel,
  io: CliIo,
  options: { queue: string; selection: Selection; json: boolean },
): Promise<number> {
  let progress: ReturnType<typeof progressReporter> | undefined;
  const outcome = await replayDeadLetters(connection, {
    queue: options.queue,
    selection: options.selection,
    replayedAt: io.now(),
    publishTimeoutMs,
    onStart: (selected) => (progress = progressReporter({ total: selected, write: io.err })),
    onProgress: (counts) => progress?.(counts),
  });
  io.err(formatReplayProblems(outcome));
  io.out(options.json ? formatReplayJson(outcome) : formatReplaySummary(outcome));
  return replaySucceeded(outcome) ? exitCode.done : exitCode.failed;
}
