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
  const fitting = sorted.filter((item) => item.bytes <= bytesPerNode);
  const nodes = new FirstFit(fitting.length, bytesPerNode);
  const holders: string[][] = [];
  for (const item of fitting) (holders[nodes.place(item.bytes)] ??= []).push(item.holder);
  return {
    nodes: holders.map((list, i) => ({ usedBytes: bytesPerNode - nodes.free(i), holders: list })),
    unplaceable: sorted.filter((item) => item.bytes > bytesPerNode),
  };
}

/**
 * "The first node with room" in O(log n): a max-tree over the nodes' free memory, where nodes not yet
 * opened are empty and come after every opened one. A plain scan is quadratic, which a pool of a few
 * thousand one-node models makes visible (bench/node-packing.ts).
 */
class FirstFit {
  private readonly leaves: number;
  private readonly maxFree: number[];

  constructor(capacity: number, bytesPerNode: number) {
    let leaves = 1;
    while (leaves < capacity) leaves *= 2;
    this.leaves = leaves;
    this.maxFree = new Array<number>(2 * leaves).fill(bytesPerNode);
  }

  /** Puts `bytes` on the first node with room and returns its index; callers never exceed the capacity. */
  place(bytes: number): number {
    let index = 1;
    while (index < this.leaves) index = this.maxFree[2 * index]! >= bytes ? 2 * index : 2 * index + 1;
    this.maxFree[index]! -= bytes;
    for (let parent = index >> 1; parent >= 1; parent >>= 1) {
      this.maxFree[parent] = Math.max(this.maxFree[2 * parent]!, this.maxFree[2 * parent + 1]!);
    }
    return index - this.leaves;
  }

  free(node: number): number {
    return this.maxFree[this.leaves + node]!;
  }
}
