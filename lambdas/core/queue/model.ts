/** A warm-up waiting in its pool's admission queue (docs/warmup-api.md). Times are epoch ms. */
export interface QueueEntry {
  readonly pool: string;
  readonly holder: string;
  readonly priority: number;
  readonly bytes: number;
  /** When it joined the line: its place among equal priorities, and the fence of its removal. */
  readonly enqueuedAt: number;
  /** The model's last warm-up while queued; the entry expires a pool's `expireAfter` later. */
  readonly lastRequestAt: number;
}

/** A warm-up asking for a place in its pool's line. */
export interface EnqueueRequest {
  pool: string;
  holder: string;
  priority: number;
  bytes: number;
  at: number;
}

/**
 * The admission queues, kept in the ledger table so they outlive any Lambda. Writes are idempotent: a
 * retried enqueue keeps the place taken first, a retried removal removes nothing twice.
 */
export interface AdmissionQueue {
  /** Joins the line, or, when already in it, keeps the place and notes the request. */
  enqueue(request: EnqueueRequest): Promise<QueueEntry>;
  /** The pool's entries in admission order (queueOrder). */
  list(pool: string): Promise<QueueEntry[]>;
  /** Removes the entry the caller read: one that left and joined again since keeps its new place. */
  remove(request: { pool: string; holder: string; enqueuedAt: number }): Promise<boolean>;
}

/** Admission order: higher priority first, then first come first served. */
export function queueOrder(entries: readonly QueueEntry[]): QueueEntry[] {
  return [...entries].sort(
    (a, b) =>
      b.priority - a.priority ||
      a.enqueuedAt - b.enqueuedAt ||
      (a.holder < b.holder ? -1 : a.holder > b.holder ? 1 : 0),
  );
}

/** Where a holder stands in its pool's line (1 is next), and how long the line is. */
export interface QueuePosition {
  readonly pool: string;
  readonly position: number;
  readonly length: number;
}

export function positionsOf(entries: readonly QueueEntry[]): Map<string, QueuePosition> {
  const ordered = queueOrder(entries);
  return new Map(
    ordered.map((e, i) => [e.holder, { pool: e.pool, position: i + 1, length: ordered.length }]),
  );
}
