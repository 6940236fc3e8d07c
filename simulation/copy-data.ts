/**
 * A deep copy of JSON-like data (plain objects, arrays, primitives), the same as `structuredClone`
 * makes of it, several times faster: the simulated apiserver hands out a copy of every object on every
 * read, and a replay reads them millions of times. Anything else (a Date, a Map, a class instance) is
 * left to `structuredClone`.
 */
export function copyData<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyData(item)) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copyData((value as Record<string, unknown>)[key]);
    // An own "__proto__" key (JSON.parse makes them) stays a key, not the copy's prototype.
    if (key === '__proto__')
      Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
    else copy[key] = item;
  }
  return copy as T;
}
