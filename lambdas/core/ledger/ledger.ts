/** The budget of one node pool and who holds what of it. All sizes are bytes; all times epoch ms. */

export interface PoolDefinition {
  readonly name: string;
  readonly totalBytes: number;
  /** GPU memory of one node of the pool: a model never spans nodes. */
  readonly bytesPerNode: number;
  /** The EKS managed node group that backs the pool. */
  readonly nodeGroup: string;
}

export interface Allocation {
  readonly holder: string;
  readonly bytes: number;
  /** When the allocation was made or last claimed; a resize keeps it, so it never restarts the idle clock. */
  readonly since: number;
  /** The last request (warm-up or activity call) for the holder, if any since `since`. */
  readonly lastActivity: number | undefined;
}

export interface PoolSnapshot extends PoolDefinition {
  readonly allocatedBytes: number;
  readonly availableBytes: number;
  readonly allocations: readonly Allocation[];
}

export interface BlockingAllocation {
  readonly holder: string;
  readonly bytes: number;
  readonly idleMs: number;
}

export interface BlockingReport {
  /** Allocations whose release would make room, idlest first; empty when nothing can (request > total). */
  readonly blocking: readonly BlockingAllocation[];
  /** Seconds until the soonest of them reaches its cooldown (0 if one already has). */
  readonly retryAfterSeconds: number | undefined;
}

/** A write that did not fit: what it asked for, what was free, and who holds the rest. */
export type Insufficient = {
  readonly outcome: 'insufficient';
  readonly requestedBytes: number;
  readonly availableBytes: number;
  readonly pool: PoolSnapshot;
} & BlockingReport;

export type AllocateResult =
  /** The pool as the allocation left it; a store may leave the allocations' `lastActivity` unknown here. */
  | { readonly outcome: 'allocated'; readonly pool: PoolSnapshot }
  /** The holder already held exactly these bytes: a retry, counted once. */
  | { readonly outcome: 'already-held'; readonly pool: PoolSnapshot }
  | Insufficient;

export type ResizeResult =
  | { readonly outcome: 'resized' | 'unchanged'; readonly previousBytes: number; readonly pool: PoolSnapshot }
  | Insufficient;

export interface ReleaseResult {
  /**
   * False when the holder no longer holds the allocation the caller read (released already, re-claimed
   * or resized since): releasing twice is not an error and frees nothing twice.
   */
  readonly released: boolean;
  readonly bytes: number;
}

/**
 * The allocation a caller read and decided to act on. A release or claim carries it as its condition,
 * so a retried call after a lost answer, or a decision made on a snapshot that a racing warm-up has
 * since re-claimed, changes nothing.
 */
export interface AllocationFence {
  readonly bytes: number;
  readonly since: number;
}

export type ClaimResult =
  | { readonly claimed: true; readonly allocation: Allocation }
  /** The holder no longer holds the allocation read: the caller allocates afresh, or gives up. */
  | { readonly claimed: false };

export type LedgerErrorCode =
  | 'invalid_input'
  | 'unknown_pool'
  | 'holder_size_mismatch'
  | 'not_held'
  | 'pool_below_allocated'
  | 'contention'
  | 'cluster_mismatch';

/** A request the ledger refuses; nothing was written. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Cooldown per holder, for the blocking report; holders missing from the map use the default. */
export interface Cooldowns {
  readonly byHolder?: Readonly<Record<string, number>>;
  readonly defaultMs: number;
}

export const DEFAULT_COOLDOWN_MS = 10 * 60 * 1000;

/** The budget store. Every mutation is atomic: concurrent callers can never over-allocate or double-release. */
export interface Ledger {
  definePool(definition: PoolDefinition): Promise<PoolSnapshot>;
  allocate(request: {
    pool: string;
    holder: string;
    bytes: number;
    now: number;
    cooldowns?: Cooldowns;
  }): Promise<AllocateResult>;
  resize(request: {
    pool: string;
    holder: string;
    bytes: number;
    now: number;
    cooldowns?: Cooldowns;
  }): Promise<ResizeResult>;
  /** Releases exactly the allocation the caller read (see AllocationFence). */
  release(request: { pool: string; holder: string; fence: AllocationFence }): Promise<ReleaseResult>;
  /**
   * Takes over an allocation the caller read, restamping `since` to `now`, so a racing release fenced to
   * the old one (a scale-down in progress) fails instead of freeing budget the caller is about to use.
   * Idempotent: a retry with the same `now` after a lost answer claims again.
   */
  claim(request: { pool: string; holder: string; fence: AllocationFence; now: number }): Promise<ClaimResult>;
  /**
   * Notes a request for the holder (monotonic: an older time never overwrites a newer one). Cheap and
   * contention-free, so it does not check that the pool exists: callers resolve the model first.
   */
  recordActivity(request: { pool: string; holder: string; at: number }): Promise<void>;
  readPool(pool: string): Promise<PoolSnapshot>;
  listPools(): Promise<PoolSnapshot[]>;
}
