import fc from 'fast-check';
import { chooseVictims, type EvictionCandidate } from '../../../../lambdas/core/warmup/eviction.js';

const Gi = 2 ** 30;
const minute = 60_000;

/** A candidate: `name` holding `gi`, of `priority`, idle `idle` minutes. */
function c(name: string, gi: number, priority: number, idle: number): EvictionCandidate {
  return { holder: `ml/${name}`, bytes: gi * Gi, priority, idleMs: idle * minute };
}

describe('chooseVictims', () => {
  it.each([
    ['nothing needed', 0, [c('a', 8, 0, 5)], []],
    [
      'the fewest models, before priority',
      40,
      [c('big', 48, 5, 1), c('a', 24, 0, 9), c('b', 16, 0, 9)],
      ['big'],
    ],
    ['then the lowest priority', 16, [c('high', 16, 5, 30), c('low', 16, -1, 2)], ['low']],
    [
      'the highest priority in the set decides first',
      30,
      [c('a', 16, 3, 9), c('b', 16, 0, 9), c('c', 16, 1, 9)],
      ['b', 'c'],
    ],
    ['then the idlest', 16, [c('busy', 16, 0, 2), c('idle', 16, 0, 20)], ['idle']],
    [
      'the least idle victim as idle as can be',
      30,
      [c('a', 16, 0, 30), c('b', 16, 0, 3), c('c', 16, 0, 10)],
      ['a', 'c'],
    ],
    ['listed idlest first', 30, [c('a', 16, 0, 1), c('b', 16, 0, 9)], ['b', 'a']],
    ['ties broken by name, so answers are stable', 8, [c('b', 8, 0, 3), c('a', 8, 0, 3)], ['a']],
  ])('%s', (_case, neededGi, candidates, names) => {
    expect(chooseVictims(neededGi * Gi, candidates)?.map((v) => v.holder.slice(3))).toEqual(names);
  });

  it('evicts nobody when even all of them cannot make room', () => {
    expect(chooseVictims(64 * Gi, [c('a', 16, 0, 9), c('b', 16, 0, 9)])).toBeUndefined();
  });

  const candidates = fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
        gi: fc.integer({ min: 1, max: 80 }),
        priority: fc.integer({ min: -2, max: 2 }),
        idle: fc.integer({ min: 0, max: 60 }),
      }),
      { selector: (x) => x.name, maxLength: 8 },
    )
    .map((list) => list.map((x) => c(x.name, x.gi, x.priority, x.idle)));

  it('always frees enough with the fewest models any set can, each named once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), candidates, (neededGi, list) => {
        const needed = neededGi * Gi;
        const victims = chooseVictims(needed, list);
        const total = list.reduce((sum, x) => sum + x.bytes, 0);
        if (total < needed) return expect(victims).toBeUndefined();
        const freed = victims!.reduce((sum, x) => sum + x.bytes, 0);
        expect(freed).toBeGreaterThanOrEqual(needed);
        expect(new Set(victims!.map((v) => v.holder)).size).toBe(victims!.length);
        // No set of fewer models frees enough: the largest ones are the best such set.
        const largest = [...list].sort((a, b) => b.bytes - a.bytes).slice(0, victims!.length - 1);
        expect(largest.reduce((sum, x) => sum + x.bytes, 0)).toBeLessThan(needed);
      }),
    );
  });

  it('never picks a higher priority when a set as small with lower ones would do', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 120 }), candidates, (neededGi, list) => {
        const victims = chooseVictims(neededGi * Gi, list);
        if (!victims || victims.length !== 1) return;
        const [victim] = victims;
        for (const other of list) {
          if (other.bytes >= neededGi * Gi) expect(victim!.priority).toBeLessThanOrEqual(other.priority);
        }
      }),
    );
  });
});
