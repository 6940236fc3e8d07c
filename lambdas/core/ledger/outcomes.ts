import { formatQuantity } from '../quantity.js';
import {
  LedgerError,
  type Cooldowns,
  type Insufficient,
  type PoolDefinition,
  type PoolSnapshot,
} from './ledger.js';
import { findBlocking } from './rules.js';

// Results and refusals shared by every Ledger implementation, so they answer alike.

export function insufficient(
  pool: PoolSnapshot,
  requestedBytes: number,
  now: number,
  cooldowns?: Cooldowns,
): Insufficient {
  return {
    outcome: 'insufficient' as const,
    requestedBytes,
    availableBytes: pool.availableBytes,
    pool,
    ...findBlocking(pool, requestedBytes, now, cooldowns),
  };
}

export function sizeMismatch(pool: string, holder: string, snapshot: PoolSnapshot): LedgerError {
  const held = snapshot.allocations.find((a) => a.holder === holder);
  return new LedgerError(
    'holder_size_mismatch',
    `${holder} already holds ${formatQuantity(held?.bytes ?? 0)} in pool ${pool}; change its size with resize, not allocate`,
  );
}

export function notHeld(pool: string, holder: string): LedgerError {
  return new LedgerError(
    'not_held',
    `${holder} holds no allocation in pool ${pool}; allocate before resizing`,
  );
}

export function shrinkError(definition: PoolDefinition, allocatedBytes: number): LedgerError {
  return new LedgerError(
    'pool_below_allocated',
    `cannot set pool ${definition.name} to ${formatQuantity(definition.totalBytes)}: ${formatQuantity(allocatedBytes)} is allocated; ` +
      'release or scale down models first',
  );
}

/**
 * For callers that find a model holding budget at another size (its memory was edited): not an error
 * for them, the reconciler resizes it. Any other error is rethrown.
 */
export function sizeMismatchAsHeld(error: unknown): 'held-at-another-size' {
  if (error instanceof LedgerError && error.code === 'holder_size_mismatch') return 'held-at-another-size';
  throw error;
}
