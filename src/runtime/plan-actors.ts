/**
 * The durable actors of a runtime's plan: each service's actors compiled to consumers (added to its own),
 * and each actor's timer queue, for the firing loop of its database. An actor's name keys its rows in the
 * database: two services sharing a database cannot both define it.
 */
import type { ActorDefinition } from '../api/actor.js';
import type { Service, ServiceActor } from '../api/service.js';
import { actorConsumers } from '../actors/durable/compile.js';
import { timerQueueName } from '../actors/durable/names.js';

/** An actor as the runtime runs it. */
export interface PlannedActor {
  readonly service: string;
  /** The database URL of its service. */
  readonly url: string;
  readonly definition: ActorDefinition;
  readonly timerQueue: string;
}

/** What `planActors` makes of the services. */
export interface ActorPlan {
  /** The services, each with its actors' consumers after its own. */
  readonly services: readonly Service[];
  readonly actors: readonly PlannedActor[];
}

function isDefinition(value: ServiceActor): value is ActorDefinition {
  const candidate = value as Partial<ActorDefinition> | null;
  return typeof candidate?.name === 'string' && Array.isArray(candidate.sources);
}

/** Compiles the services' actors; reports a value that is no definition, and a name a database holds twice. */
export function planActors(services: readonly Service[], problem: (text: string) => void): ActorPlan {
  const actors: PlannedActor[] = [];
  const owners = new Map<string, string>();
  const compiled = services.map((service): Service => {
    const definitions = (service.actors ?? []).filter((definition, index): definition is ActorDefinition => {
      if (isDefinition(definition)) return true;
      problem(`services.${service.name}.actors[${index}]: an actor must be made by defineActor`);
      return false;
    });
    for (const definition of definitions) {
      const where = `services.${service.name}.actors.${definition.name}`;
      const key = `${service.database.url} ${definition.name}`;
      const owner = owners.get(key);
      if (owner !== undefined) problem(`${where}: ${owner} already has an actor ${definition.name} in its database`);
      owners.set(key, service.name);
      const timerQueue = timerQueueName(service.name, definition.name);
      actors.push({ service: service.name, url: service.database.url, definition, timerQueue });
    }
    if (definitions.length === 0) return service;
    const consumers = [...service.consumers, ...definitions.flatMap((each) => actorConsumers(service.name, each))];
    return Object.freeze({ ...service, consumers });
  });
  return { services: compiled, actors };
}
