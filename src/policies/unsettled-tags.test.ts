import test from 'ava';
import fc from 'fast-check';
import { UnsettledTags } from './unsettled-tags.js';

function channelWith(delivered: number, settled: readonly number[] = []): UnsettledTags<number> {
  const tags = new UnsettledTags<number>();
  for (let tag = 1; tag <= delivered; tag += 1) tags.delivered(tag, tag);
  for (const tag of settled) tags.settled(tag);
  return tags;
}

test('the first deliveries of a channel, finished together, are released together', (t) => {
  const tags = channelWith(5);
  tags.hold([3, 1, 2]);
  t.deepEqual(tags.release(), [1, 2, 3]);
  t.is(tags.held, 0);
  t.deepEqual(tags.release(), [], 'released once');
});

test('a batch behind an unfinished delivery is held until that one is settled', (t) => {
  const tags = channelWith(6);
  tags.hold([3, 4]);
  t.deepEqual(tags.release(), [], 'a multiple ack up to 4 would take 1 and 2 too');
  t.is(tags.held, 2);
  tags.hold([1]);
  t.deepEqual(tags.release(), [1], '2 still holds 3 and 4 back');
  tags.settled(2); // nacked
  t.deepEqual(tags.release(), [3, 4]);
  tags.hold([6]);
  t.deepEqual(tags.release(), [], '5 is unfinished');
});

test('deliveries settled on their own leave the ones above them at the bottom', (t) => {
  const tags = channelWith(6, [1, 2, 4]);
  tags.hold([3, 5]);
  t.deepEqual(tags.release(), [3, 5]);
});

test('the held ones can be taken to be acked one by one, and are then no longer unsettled', (t) => {
  const tags = channelWith(5);
  tags.hold([2, 4]);
  t.deepEqual(
    tags.takeHeld().sort((a, b) => a - b),
    [2, 4],
  );
  t.is(tags.held, 0);
  tags.hold([1, 3]);
  t.deepEqual(tags.release(), [1, 3], '2 was acked already');
});

test('tags that are not unsettled are not held', (t) => {
  const tags = channelWith(3, [1]);
  tags.hold([1, 7]);
  t.is(tags.held, 0);
  t.deepEqual(tags.release(), []);
});

type Step = { kind: 'finish'; tags: number[] } | { kind: 'nack'; tag: number } | { kind: 'takeHeld' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('finish' as const),
    tags: fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('nack' as const), tag: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('takeHeld' as const) }),
);

test('on a model of the broker, its acks take every finished delivery and never an unfinished one', (t) => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const tags = channelWith(30);
      const unacked = new Set(Array.from({ length: 30 }, (_, index) => index + 1)); // the broker's view
      const finished = new Set<number>();
      let wrong = false;
      const ack = (tag: number, multiple: boolean) => {
        for (const each of unacked) {
          if (each !== tag && !(multiple && each < tag)) continue;
          if (!finished.has(each)) wrong = true;
          unacked.delete(each);
        }
      };
      const ackReleased = () => {
        const released = tags.release();
        if (released.length > 0) ack(released.at(-1)!, true);
      };
      for (const each of steps) {
        if (each.kind === 'finish') {
          const open = each.tags.filter((tag) => unacked.has(tag));
          for (const tag of open) finished.add(tag);
          tags.hold(open);
        } else if (each.kind === 'nack' && unacked.has(each.tag) && !finished.has(each.tag)) {
          unacked.delete(each.tag);
          tags.settled(each.tag);
        } else if (each.kind === 'takeHeld') {
          for (const tag of tags.takeHeld()) ack(tag, false);
        }
        ackReleased();
      }
      // Once nothing unfinished is left below them, the held acks go out: every finished delivery is acked.
      for (const tag of unacked) {
        if (finished.has(tag)) continue;
        unacked.delete(tag);
        tags.settled(tag);
      }
      ackReleased();
      return !wrong && unacked.size === 0 && tags.held === 0;
    }),
  );
  t.pass();
});
