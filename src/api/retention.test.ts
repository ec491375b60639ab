import test from 'ava';
import { defaultRetention, resolveRetention, retentionOfDatabase } from './retention.js';

test('the runtime retention fills in every default', (t) => {
  t.deepEqual(resolveRetention(), defaultRetention);
  t.deepEqual(resolveRetention({ intervalMs: 500, sentOutboxGraceMs: 0 }), {
    ...defaultRetention,
    intervalMs: 500,
    sentOutboxGraceMs: 0,
  });
});

test('a database shared by services keeps each window as long as the longest of theirs, defaults included', (t) => {
  const runtime = resolveRetention({ deduplicationWindowMs: 60_000, sentOutboxGraceMs: 5_000, batchSize: 7 });
  const shared = retentionOfDatabase(runtime, [
    { deduplicationWindowMs: 10_000 },
    { sentOutboxGraceMs: 1_000 },
    undefined,
  ]);
  // 10 s is shorter than the default of the other two services: their 60 s wins. 1 s loses to 5 s likewise.
  t.deepEqual(shared, { ...runtime, deduplicationWindowMs: 60_000, sentOutboxGraceMs: 5_000 });
  t.is(retentionOfDatabase(runtime, [{ deduplicationWindowMs: 90_000 }, {}]).deduplicationWindowMs, 90_000);
  t.is(retentionOfDatabase(runtime, [{ sentOutboxGraceMs: 0 }]).sentOutboxGraceMs, 0, 'alone, its own wins');
});
