import type { ChannelModel } from 'amqplib';
import { checkDeadLetterQueue, DeadLetterHold, type HeldDeadLetter } from '../../queue.js';

/** Every dead letter of `queue`, read and then returned to the queue before this resolves. */
export async function readDeadLetters(
  connection: ChannelModel,
  queue: string,
): Promise<{ readonly deadLetterQueue: string; readonly letters: readonly HeldDeadLetter[] }> {
  const { deadLetterQueue } = await checkDeadLetterQueue(connection, queue);
  const hold = await DeadLetterHold.open(connection, deadLetterQueue);
  try {
    return { deadLetterQueue, letters: await hold.takeAll() };
  } finally {
    await hold.release();
  }
}
