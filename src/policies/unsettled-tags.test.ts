import test from 'ava';
import fc from 'fast-check';
import { UnsettledTags } from './unsettled-tags.js';

function channelWith(delivered: number, settled: readonly number[] = []): UnsettledTags {
  const tags = new UnsettledTags();
  for (let tag = 1; tag <= delivered; tag += 1) tags.delivered(tag);
  for (const tag of settled) tags.settled(tag);
  return tags;
}

test('the first deliveries of a channel, together, are the lowest unsettled', (t) => {
  t.true(channelWith(5).areLowest([1, 2, 3]));
  t.true(channelWith(3).areLowest([1, 2, 3]));
  t.true(channelWith(3).areLowest([3, 1, 2]), 'in any order');
});

test('a batch behind another unsettled delivery is not: a multiple ack would take that one too', (t) => {
  t.false(channelWith(5).areLowest([2, 3]));
  t.false(channelWith(5).areLowest([1, 3]), 'a gap holds an unsettled delivery of another batch');
});

test('deliveries settled before a batch leave it the lowest', (t) => {
  t.true(channelWith(6, [1, 2, 4]).areLowest([3, 5]));
  t.false(channelWith(6, [1, 2]).areLowest([3, 5]));
});

test('tags that are not unsettled, repeated or none are never the lowest', (t) => {
  t.false(channelWith(3).areLowest([]));
  t.false(channelWith(3).areLowest([1, 2, 3, 4]));
  t.false(channelWith(3, [1]).areLowest([1, 2]));
  t.false(channelWith(3).areLowest([1, 1]));
});

test('whenever it says yes, no unsettled tag outside the batch is at or below its highest', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.integer({ min: 1, max: 40 })),
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 40 }),
      (delivered, settled, batch) => {
        const tags = channelWith(delivered, settled);
        const unsettled = new Set<number>();
        for (let tag = 1; tag <= delivered; tag += 1) if (!settled.includes(tag)) unsettled.add(tag);
        const highest = Math.max(...batch);
        const exact =
          new Set(batch).size === batch.length &&
          batch.every((tag) => unsettled.has(tag)) &&
          [...unsettled].every((tag) => tag > highest || batch.includes(tag));
        return tags.areLowest(batch) === exact;
      },
    ),
  );
  t.pass();
});
