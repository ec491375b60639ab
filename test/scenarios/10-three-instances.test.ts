// Several instances (issue 6): three processes of each service share the queues and the databases. They
// start at the same moment on fresh databases, so they race to create and migrate them; users are created
// through all three user instances. Nothing may be lost or doubled, and every instance takes part.
import test from 'ava';
import { cardServiceMigrations } from '../../src/app/card/migrations.js';
import { userServiceMigrations } from '../../src/app/user/migrations.js';
import { query } from '../support/environment.js';
import { checkInvariants } from '../support/invariants.js';
import { createOneUser } from '../support/load.js';
import { startScenario } from '../support/scenario.js';
import type { ServiceProcess } from '../support/service-process.js';
import { messageOutcomes } from '../support/outcomes.js';

const instances = 3;
const usersPerInstance = 40;

const processed = (process: ServiceProcess, queue: string) => messageOutcomes(process.logs, queue);

test('three instances of each service, started together: migrations race safely, all take part, nothing lost or doubled', async (t) => {
  const scenario = await startScenario(t, 's10three', { instances });
  const { environment, userInstances, cardInstances } = scenario;

  // Each database was migrated exactly once, whichever instance got there first.
  for (const [url, migrations] of [
    [environment.userDbUrl, userServiceMigrations],
    [environment.cardDbUrl, cardServiceMigrations],
  ] as const) {
    const applied = await query<{ name: string }>(url, 'SELECT name FROM kysely_migration ORDER BY name');
    t.deepEqual(
      applied.map((row) => row.name),
      Object.keys(migrations).sort(),
    );
  }

  // Round robin over the user instances, a few requests in flight at a time.
  const createdBy = userInstances.map(() => [] as string[]);
  const total = instances * usersPerInstance;
  for (let first = 0; first < total; first += 12) {
    await Promise.all(
      Array.from({ length: Math.min(12, total - first) }, async (_, offset) => {
        const index = (first + offset) % instances;
        const id = await createOneUser(() => userInstances[index]!.url, `s10-${index}`);
        if (id) createdBy[index]!.push(id);
      }),
    );
  }
  createdBy.forEach((ids, index) =>
    t.is(ids.length, usersPerInstance, `user instance ${index} answered 201 for each of its users`),
  );

  const report = await checkInvariants({ environment, createdUserIds: createdBy.flat() });
  t.deepEqual(report.violations, []);
  t.is(report.users, total);
  t.is(report.withExactlyOneCard, total);

  // Competing consumers: the broker spread the deliveries over every instance.
  const cardShares = cardInstances.map((instance) => processed(instance, environment.userQueue).length);
  const userShares = userInstances.map((instance) => processed(instance, environment.cardQueue).length);
  t.log(
    `user messages processed per card instance: ${cardShares.join(', ')}; card messages per user instance: ${userShares.join(', ')}`,
  );
  cardShares.forEach((count, index) => t.true(count > 0, `card instance ${index} processed no user message`));
  userShares.forEach((count, index) => t.true(count > 0, `user instance ${index} processed no card message`));

  for (const instance of [...userInstances, ...cardInstances]) {
    t.is(instance.child.exitCode, null, 'every instance is still running');
    t.deepEqual(
      instance.logs.filter((line) => line.level === 'error').map((line) => line.message),
      [],
    );
  }
});
