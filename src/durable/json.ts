/**
 * What "plain JSON" means for a durable actor: the values a row stores and gives back unchanged. A context,
 * or a delayed event, holding anything else (a Date, a Map, a class instance, NaN, a cycle) would come
 * back different after a restart, so the step refuses it instead of storing a silent change.
 */

/** Why `value` is not plain JSON, naming where (`context.card.issuedAt is a Date`); undefined when it is. */
export function jsonProblem(value: unknown, path: string): string | undefined {
  return problemAt(value, path, new Set());
}

function problemAt(value: unknown, path: string, ancestors: Set<object>): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} is ${value}`;
  if (typeof value !== 'object')
    return `${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
  if (ancestors.has(value)) return `${path} refers to itself`;
  if (Array.isArray(value)) return withAncestor(value, ancestors, () => arrayProblem(value, path, ancestors));
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return `${path} is a ${kindOf(value)}`;
  return withAncestor(value, ancestors, () => objectProblem(value, path, ancestors));
}

function arrayProblem(items: readonly unknown[], path: string, ancestors: Set<object>): string | undefined {
  for (const [index, item] of items.entries()) {
    const problem = problemAt(item, `${path}[${index}]`, ancestors);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

// A property set to `undefined` is accepted: JSON drops it, and reading it back gives `undefined` again.
function objectProblem(object: object, path: string, ancestors: Set<object>): string | undefined {
  for (const [key, item] of Object.entries(object)) {
    if (item === undefined) continue;
    const problem = problemAt(item, `${path}.${key}`, ancestors);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function withAncestor<T>(value: object, ancestors: Set<object>, check: () => T): T {
  ancestors.add(value);
  try {
    return check();
  } finally {
    ancestors.delete(value);
  }
}

function kindOf(value: object): string {
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name.length > 0 ? name : 'non-plain object';
}
