import test from 'ava';
import { progressReporter } from './progress.js';

test('progress is shown every 100 messages and at least once a second, only for long runs', (t) => {
  const lines: string[] = [];
  let now = 0;
  const report = progressReporter({ total: 250, write: (line) => lines.push(line), now: () => now });
  for (let replayed = 1; replayed <= 150; replayed += 1) report({ replayed, failed: 0 });
  t.deepEqual(lines, ['replayed 100/250\n']);
  now = 1_500;
  report({ replayed: 151, failed: 1 });
  t.deepEqual(lines.at(-1), 'replayed 151/250 (1 failed)\n');
  report({ replayed: 152, failed: 1 });
  t.is(lines.length, 2, 'not again within the second');
});

test('a short run shows no progress', (t) => {
  const lines: string[] = [];
  const report = progressReporter({ total: 99, write: (line) => lines.push(line), now: () => 0, every: 1 });
  for (let replayed = 1; replayed <= 99; replayed += 1) report({ replayed, failed: 0 });
  t.deepEqual(lines, []);
});
