import test from 'ava';
import { formatAge, formatSize } from './units.js';

test('ages are short and keep two units at most', (t) => {
  t.is(formatAge(-5), '0s');
  t.is(formatAge(45_900), '45s');
  t.is(formatAge(192_000), '3m12s');
  t.is(formatAge((2 * 60 + 5) * 60_000), '2h05m');
  t.is(formatAge((3 * 24 + 4) * 3_600_000), '3d04h');
});

test('sizes are in bytes, KiB or MiB', (t) => {
  t.is(formatSize(0), '0 B');
  t.is(formatSize(1023), '1023 B');
  t.is(formatSize(1536), '1.5 KiB');
  t.is(formatSize(2 * 1024 * 1024), '2.0 MiB');
});
