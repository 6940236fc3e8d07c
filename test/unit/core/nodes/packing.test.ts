import fc from 'fast-check';
import { packOntoNodes, type Item } from '../../../../lambdas/core/nodes/packing.js';

const Gi = 2 ** 30;

/** Allocations as the ledger holds them: distinct holders, sizes in whole Gi (some larger than a node). */
const items = (maxGi: number) =>
  fc
    .uniqueArray(
      fc.record({
        holder: fc.stringMatching(/^[a-z]{1,6}\/[a-z0-9]{1,8}$/),
        gi: fc.integer({ min: 1, max: maxGi }),
      }),
      {
        selector: (i) => i.holder,
        maxLength: 60,
      },
    )
    .map((list) => list.map(({ holder, gi }): Item => ({ holder, bytes: gi * Gi })));
const nodeGi = fc.integer({ min: 8, max: 640 });

describe('packOntoNodes (first-fit decreasing)', () => {
  it.each([
    ['nothing to pack', [], 80, 0],
    ['one model per node when two do not fit together', [48, 48], 80, 2],
    ['small models share a node', [16, 16, 16, 16, 16], 80, 1],
    ['largest first fills the gaps', [20, 60, 30, 50], 80, 2],
    ['a model exactly the size of a node', [80, 80], 80, 2],
  ])('%s', (_case, sizes, perNodeGi, expected) => {
    const packing = packOntoNodes(
      sizes.map((gi, i) => ({ holder: `ns/m${i}`, bytes: gi * Gi })),
      perNodeGi * Gi,
    );
    expect(packing.nodes).toHaveLength(expected);
    expect(packing.unplaceable).toEqual([]);
  });

  it('leaves a model larger than a node unplaced rather than spanning nodes', () => {
    const packing = packOntoNodes(
      [
        { holder: 'ns/huge', bytes: 90 * Gi },
        { holder: 'ns/small', bytes: 10 * Gi },
      ],
      80 * Gi,
    );
    expect(packing.unplaceable).toEqual([{ holder: 'ns/huge', bytes: 90 * Gi }]);
    expect(packing.nodes).toEqual([{ usedBytes: 10 * Gi, holders: ['ns/small'] }]);
  });

  it('places every model that fits a node exactly once, on one node, never over capacity', () => {
    fc.assert(
      fc.property(items(700), nodeGi, (list, perNodeGi) => {
        const perNode = perNodeGi * Gi;
        const packing = packOntoNodes(list, perNode);
        const placed = packing.nodes.flatMap((n) => n.holders);
        expect(new Set(placed).size).toBe(placed.length);
        expect([...placed, ...packing.unplaceable.map((i) => i.holder)].sort()).toEqual(
          list.map((i) => i.holder).sort(),
        );
        expect(packing.unplaceable.every((i) => i.bytes > perNode)).toBe(true);
        const bytes = new Map(list.map((i) => [i.holder, i.bytes]));
        for (const node of packing.nodes) {
          const used = node.holders.reduce((sum, h) => sum + bytes.get(h)!, 0);
          expect(node.usedBytes).toBe(used);
          expect(used).toBeLessThanOrEqual(perNode);
          expect(node.holders.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('uses no fewer nodes than the memory needs, and at most twice that', () => {
    fc.assert(
      fc.property(items(80), nodeGi, (list, perNodeGi) => {
        const perNode = perNodeGi * Gi;
        const packing = packOntoNodes(list, perNode);
        const fitting = list.filter((i) => i.bytes <= perNode);
        const lowerBound = Math.ceil(fitting.reduce((sum, i) => sum + i.bytes, 0) / perNode);
        expect(packing.nodes.length).toBeGreaterThanOrEqual(lowerBound);
        // All nodes but one are more than half full, so the count stays below twice the memory bound.
        expect(packing.nodes.length).toBeLessThanOrEqual(2 * lowerBound);
      }),
    );
  });

  it('at most one node is half empty or less (any first-fit packing)', () => {
    fc.assert(
      fc.property(items(80), nodeGi, (list, perNodeGi) => {
        const perNode = perNodeGi * Gi;
        const halfEmpty = packOntoNodes(list, perNode).nodes.filter((n) => n.usedBytes * 2 <= perNode);
        expect(halfEmpty.length).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('gives the same answer whatever order the ledger lists the allocations in', () => {
    fc.assert(
      fc.property(
        items(120).chain((list) =>
          fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length })),
        ),
        nodeGi,
        ([list, shuffled], perNodeGi) => {
          expect(packOntoNodes(shuffled, perNodeGi * Gi)).toEqual(packOntoNodes(list, perNodeGi * Gi));
        },
      ),
    );
  });

  it('places each model on the first node with room, as a linear scan of the nodes would', () => {
    fc.assert(
      fc.property(items(200), nodeGi, (list, perNodeGi) => {
        const perNode = perNodeGi * Gi;
        const packing = packOntoNodes(list, perNode);
        // The oracle: first fit by scanning every open node, over the same decreasing order.
        const free: number[] = [];
        const expected: string[][] = [];
        const decreasing = list
          .filter((i) => i.bytes <= perNode)
          .sort((a, b) => b.bytes - a.bytes || (a.holder < b.holder ? -1 : 1));
        for (const item of decreasing) {
          let index = free.findIndex((room) => room >= item.bytes);
          if (index === -1) index = free.push(perNode) - 1;
          free[index]! -= item.bytes;
          (expected[index] ??= []).push(item.holder);
        }
        expect(packing.nodes.map((n) => n.holders)).toEqual(expected);
      }),
    );
  });
});
