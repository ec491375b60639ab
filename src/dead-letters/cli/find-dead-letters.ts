import type { HeldDeadLetter } from '../queue.js';

/** A message id first; a whole number no message id matches is a position. */
export function findDeadLetters(letters: readonly HeldDeadLetter[], target: string): HeldDeadLetter[] {
  const byId = letters.filter((letter) => letter.message.properties.messageId === target);
  if (byId.length > 0 || !/^[1-9]\d*$/.test(target)) return byId;
  const atPosition = letters.find((letter) => letter.position === Number(target));
  return atPosition === undefined ? [] : [atPosition];
}
