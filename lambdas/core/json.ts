/** A JSON object (not an array, not null): the shape untrusted input is checked for before its fields are read. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
