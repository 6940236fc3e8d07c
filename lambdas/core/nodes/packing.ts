/** Something that takes GPU memory on one node: a model replica's allocation. */
export interface Item {
  readonly holder: string;
  readonly bytes: number;
}

export interface PackedNode {
  readonly usedBytes: number;
  readonly holders: readonly string[];
}

export interface Packing {
  readonly nodes: readonly PackedNode[];
  /** Items larger than one node: no node of the pool can ever run them. */
  readonly unplaceable: readonly Item[];
}

/**
 * First-fit decreasing: largest first, each onto the first node with room, a new node when none has.
 * A model never spans nodes. FFD uses at most 11/9 of the optimal node count plus one, and is
 * deterministic (ties broken by holder), so every Lambda computes the same answer for the same ledger.
 */
export function packOntoNodes(items: readonly Item[], bytesPerNode: number): Packing {
  const sorted = [...items].sort((a, b) => b.bytes - a.bytes || (a.holder < b.holder ? -1 : 1));
  const free: number[] = [];
  const holders: string[][] = [];
  const unplaceable: Item[] = [];
  for (const item of sorted) {
    if (item.bytes > bytesPerNode) {
      unplaceable.push(item);
      continue;
    }
    const index = free.findIndex((room) => room >= item.bytes);
    if (index === -1) {
      free.push(bytesPerNode - item.bytes);
      holders.push([item.holder]);
    } else {
      free[index]! -= item.bytes;
      holders[index]!.push(item.holder);
    }
  }
  return {
    nodes: free.map((room, i) => ({ usedBytes: bytesPerNode - room, holders: holders[i]! })),
    unplaceable,
  };
}
