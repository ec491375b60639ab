import test from 'ava';
import type { HeldDeadLetter } from '../queue.js';
import { findDeadLetters } from './find-dead-letters.js';

const held = (position: number, messageId: string | undefined) =>
  ({ position, message: { properties: { messageId } } }) as unknown as HeldDeadLetter;
const letters = [held(1, 'a'), held(2, '3'), held(3, 'a'), held(4, undefined)];

test('a message id finds every dead letter with it', (t) => {
  t.deepEqual(
    findDeadLetters(letters, 'a').map((letter) => letter.position),
    [1, 3],
  );
});

test('a whole number is a position unless a message id matches it', (t) => {
  t.deepEqual(
    findDeadLetters(letters, '4').map((letter) => letter.position),
    [4],
  );
  t.deepEqual(
    findDeadLetters(letters, '3').map((letter) => letter.position),
    [2],
    'the id "3" wins over position 3',
  );
  t.deepEqual(findDeadLetters(letters, '5'), []);
  t.deepEqual(findDeadLetters(letters, '0'), []);
  t.deepEqual(findDeadLetters(letters, 'b'), []);
});
