import test from 'ava';
import { formatRelative, formatTable, formatTime } from './text-table.js';

test('columns as wide as their widest cell, two spaces apart, the last one not padded', (t) => {
  t.deepEqual(
    formatTable(
      ['ID', 'STATE', 'NOTE'],
      [
        ['a-long-id', 's', 'x'],
        ['b', 'a-long-state', 'y'],
      ],
    ),
    ['ID         STATE         NOTE', 'a-long-id  s             x', 'b          a-long-state  y'],
  );
});

test('no rows: the header alone', (t) => {
  t.deepEqual(formatTable(['ID', 'STATE'], []), ['ID  STATE']);
});

test('cells are escaped before they are measured', (t) => {
  t.deepEqual(formatTable(['ID', 'X'], [['a\u001b[2Jb', '-']]), ['ID           X', 'a\\u001b[2Jb  -']);
});

test('times in UTC to the second, - for none', (t) => {
  t.is(formatTime(new Date('2026-12-08T01:02:03.999+02:00')), '2026-12-07T23:02:03Z');
  t.is(formatTime(null), '-');
});

test('relative times both ways', (t) => {
  const now = new Date('2026-12-08T00:00:00Z');
  t.is(formatRelative(new Date('2026-12-10T03:00:00Z'), now), 'in 2d03h');
  t.is(formatRelative(new Date('2026-12-08T00:00:00Z'), now), 'in 0s');
  t.is(formatRelative(new Date('2026-12-07T23:59:15Z'), now), '45s ago');
});
