/**
 * The start-up check of durable actors' versions: persisted active instances in states the deployed
 * machine no longer has would fail at their next event; the runtime refuses to start instead, naming them,
 * unless the definition's `migrate` brings such snapshots to the deployed version.
 */
import type { ActorDefinition } from '../../api/actor.js';
import { OptionsError } from '../../api/options.js';
import { countInstancesByVersion } from '../../db/actor-queries.js';
import type { QueryRunner } from '../../db/prepared.js';
import { unknownStates } from '../../durable/state-value.js';

/** Persisted instances are in states the deployed definitions lack: the message names them. */
export class ActorVersionError extends OptionsError {
  override name = 'ActorVersionError';
}

/** Throws an `ActorVersionError` naming every actor with stranded instances, their states, counts and versions. */
export async function checkActorVersions(db: QueryRunner, definitions: readonly ActorDefinition[]): Promise<void> {
  const problems: string[] = [];
  for (const definition of definitions) {
    if (definition.migrate !== undefined) continue;
    const active = (await countInstancesByVersion(db, definition.name)).filter((row) => row.status === 'active');
    const unknown = new Set(
      unknownStates(
        definition.machine,
        active.map((row) => row.state),
      ),
    );
    const stranded = active.filter((row) => unknown.has(row.state));
    if (stranded.length === 0) continue;
    const counts = stranded.map((row) => `${row.count} in state '${row.state}' (version ${row.definitionVersion})`);
    problems.push(`actor ${definition.name}, deployed at version ${definition.version}: ${counts.join(', ')}`);
  }
  if (problems.length === 0) return;
  throw new ActorVersionError(
    `persisted instances are in states the deployed machine lacks: ${problems.join('; ')}; give the definition ` +
      'a migrate(snapshot, fromVersion) that moves them, or deploy a machine that has those states',
  );
}
