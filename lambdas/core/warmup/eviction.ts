/** A model a warm-up may evict: Ready, idle at least its minIdle, of priority not above the requester's. */
export interface EvictionCandidate {
  holder: string;
  bytes: number;
  priority: number;
  idleMs: number;
}

/** Beyond this many sets of the fewest models, the best seen so far is taken (it always makes room). */
const MAX_SETS_EXAMINED = 20_000;

/**
 * The smallest set of candidates whose release frees `neededBytes`: the fewest models, then the lowest
 * priorities (the highest priority in the set as low as can be, then the next), then the idlest (the
 * least idle victim as idle as can be). Undefined when even all of them cannot make room.
 */
export function chooseVictims(
  neededBytes: number,
  candidates: readonly EvictionCandidate[],
): EvictionCandidate[] | undefined {
  if (neededBytes <= 0) return [];
  const largestFirst = [...candidates].sort((a, b) => b.bytes - a.bytes || compare(a.holder, b.holder));
  // The fewest models that can make room: the largest ones, as many as it takes.
  let fewest = 0;
  for (let freed = 0; freed < neededBytes; fewest++) {
    if (fewest === largestFirst.length) return undefined;
    freed += largestFirst[fewest]!.bytes;
  }
  const preferred = [...candidates].sort(
    (a, b) => a.priority - b.priority || b.idleMs - a.idleMs || compare(a.holder, b.holder),
  );
  let best = largestFirst.slice(0, fewest);
  let examined = 0;
  const chosen: EvictionCandidate[] = [];
  const search = (from: number, freed: number): void => {
    if (examined >= MAX_SETS_EXAMINED) return;
    if (chosen.length === fewest) {
      examined++;
      if (freed >= neededBytes && better(chosen, best)) best = [...chosen];
      return;
    }
    for (let i = from; i <= preferred.length - (fewest - chosen.length); i++) {
      chosen.push(preferred[i]!);
      search(i + 1, freed + preferred[i]!.bytes);
      chosen.pop();
    }
  };
  search(0, 0);
  return [...best].sort((a, b) => b.idleMs - a.idleMs || compare(a.holder, b.holder));
}

function better(a: readonly EvictionCandidate[], b: readonly EvictionCandidate[]): boolean {
  const byPriority = compareLists(
    a.map((c) => c.priority).sort((x, y) => y - x),
    b.map((c) => c.priority).sort((x, y) => y - x),
  );
  if (byPriority !== 0) return byPriority < 0;
  // Idlest: the least idle victim of a as idle as can be, then the next.
  const byIdle = compareLists(
    b.map((c) => c.idleMs).sort((x, y) => x - y),
    a.map((c) => c.idleMs).sort((x, y) => x - y),
  );
  if (byIdle !== 0) return byIdle < 0;
  return compare(names(a), names(b)) < 0;
}

function compareLists(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function names(set: readonly EvictionCandidate[]): string {
  return set
    .map((c) => c.holder)
    .sort()
    .join(',');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
