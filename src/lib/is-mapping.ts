// The one test for "a JSON/YAML object" that every reader of untrusted documents (admin bodies, state files,
// overrides, settings files) applies before reading keys: not null, not an array.

/** Whether `value` is a plain object: a mapping of keys to values (arrays and null are not). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
