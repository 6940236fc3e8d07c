// The simulated apiserver's copy of what it hands out: what structuredClone makes, and independent of it.
import fc from 'fast-check';
import { copyData } from '../../../simulation/copy-data.js';

describe('copyData', () => {
  it('copies JSON-like data as structuredClone does, sharing nothing with the original', () => {
    const data = fc
      .jsonValue()
      .chain((json) => fc.constantFrom(json, { json, missing: undefined, list: [json, undefined, null] }));
    fc.assert(
      fc.property(data, (value) => {
        const copy = copyData(value);
        expect(copy).toStrictEqual(structuredClone(value));
        if (typeof value === 'object' && value !== null) expect(copy).not.toBe(value);
        const before = structuredClone(value);
        mutateEverything(copy);
        expect(value).toStrictEqual(before);
      }),
    );
  });

  it('keeps an own "__proto__" key a key', () => {
    const copy = copyData(JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__']);
    expect(copy['__proto__']).toEqual({ polluted: true });
  });

  it('leaves what is not plain data to structuredClone', () => {
    const at = new Date(0);
    const copy = copyData({ at, seen: new Map([['a', 1]]) });
    expect(copy.at).toEqual(at);
    expect(copy.at).not.toBe(at);
    expect(copy.seen).toEqual(new Map([['a', 1]]));
  });
});

function mutateEverything(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  for (const key of Object.keys(value)) {
    mutateEverything((value as Record<string, unknown>)[key]);
    (value as Record<string, unknown>)[key] = 'changed';
  }
}
