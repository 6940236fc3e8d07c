/** A model the 429 may name: Ready, holding budget in the pool, and idling towards its cooldown. */
export interface BlockingCandidate {
  holder: string;
  bytes: number;
  idleMs: number;
  /** How long until a pass may scale it to zero (0 when its cooldown has passed). */
  untilIdleOutMs: number;
}

export interface BlockingChoice {
  /** The models whose release makes room, idlest first. */
  blocking: BlockingCandidate[];
  /** When the room is expected, counted from now (before the pass that acts); undefined when no cooldown makes room. */
  untilRoomMs: number | undefined;
}

/**
 * The smallest honest answer to "who is in the way": among the sets of candidates whose release frees
 * `neededBytes`, one whose room comes soonest (the latest cooldown in it is as early as can be), then
 * with as few models as can be, and minimal (drop any one and it no longer makes room). Listed idlest
 * first. When even all of them cannot make room, all are named and no time is promised.
 */
export function chooseBlockingSet(
  neededBytes: number,
  candidates: readonly BlockingCandidate[],
): BlockingChoice {
  if (neededBytes <= 0) return { blocking: [], untilRoomMs: 0 };
  const soonestFirst = [...candidates].sort(
    (a, b) => a.untilIdleOutMs - b.untilIdleOutMs || b.idleMs - a.idleMs || compare(a.holder, b.holder),
  );
  // The earliest moment room can exist: the shortest prefix (by time) that frees enough.
  let freed = 0;
  let roomAt: number | undefined;
  for (const candidate of soonestFirst) {
    freed += candidate.bytes;
    if (freed >= neededBytes) {
      roomAt = candidate.untilIdleOutMs;
      break;
    }
  }
  if (roomAt === undefined) return { blocking: idlestFirst(soonestFirst), untilRoomMs: undefined };
  // Among those idle out by then, as few as can be: the largest first, then drop what is not needed.
  const byThen = soonestFirst
    .filter((c) => c.untilIdleOutMs <= roomAt)
    .sort((a, b) => b.bytes - a.bytes || b.idleMs - a.idleMs || compare(a.holder, b.holder));
  const chosen: BlockingCandidate[] = [];
  let total = 0;
  for (const candidate of byThen) {
    if (total >= neededBytes) break;
    chosen.push(candidate);
    total += candidate.bytes;
  }
  for (const candidate of [...chosen].sort((a, b) => a.bytes - b.bytes)) {
    if (total - candidate.bytes >= neededBytes) {
      chosen.splice(chosen.indexOf(candidate), 1);
      total -= candidate.bytes;
    }
  }
  return {
    blocking: idlestFirst(chosen),
    untilRoomMs: Math.max(...chosen.map((c) => c.untilIdleOutMs)),
  };
}

function idlestFirst(candidates: BlockingCandidate[]): BlockingCandidate[] {
  return [...candidates].sort((a, b) => b.idleMs - a.idleMs || compare(a.holder, b.holder));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
