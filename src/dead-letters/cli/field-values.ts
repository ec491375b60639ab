/**
 * AMQP header and property values as JSON: amqplib decodes byte arrays as Buffers and 64-bit integers
 * may come as bigints, neither of which JSON.stringify shows usefully.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function toJsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return { base64: value.toString('base64') };
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, toJsonValue(entry)]));
  }
  return String(value);
}

/** Properties that were set, by their AMQP names, with the headers left out (they are shown on their own). */
export function presentProperties(properties: Readonly<Record<string, unknown>>): Record<string, JsonValue> {
  const present: Record<string, JsonValue> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (name === 'headers' || value === undefined) continue;
    present[name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)] = toJsonValue(value);
  }
  return present;
}
