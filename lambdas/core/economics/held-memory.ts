import type { PoolSnapshot } from '../ledger/ledger.js';
import { SECONDS_PER_HOUR } from './cost.js';

/** GPU memory held by one model in one pool during one clock hour (UTC). */
export interface HeldMemory {
  readonly hourStartMs: number;
  readonly pool: string;
  readonly namespace: string;
  readonly model: string;
  readonly byteSeconds: number;
}

const HOUR_MS = SECONDS_PER_HOUR * 1000;

/** The start of the clock hour `ms` falls in. */
export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/**
 * What the pools' allocations held from `fromMs` to `toMs`, split at clock hours and summed per model
 * (a MoE workload's replicas `ns/name#i` count as the model `name`). An allocation counts from the later
 * of `fromMs` and when it was made; one released between two passes is not in the snapshot, so metering
 * undercounts by at most one pass interval per release and never counts memory nobody held.
 */
export function heldMemory(pools: readonly PoolSnapshot[], fromMs: number, toMs: number): HeldMemory[] {
  const sums = new Map<
    string,
    { hourStartMs: number; pool: string; namespace: string; model: string; byteSeconds: number }
  >();
  for (const pool of pools) {
    for (const allocation of pool.allocations) {
      const { namespace, model } = modelOfHolder(allocation.holder);
      let start = Math.max(fromMs, allocation.since);
      while (start < toMs) {
        const hourStartMs = hourOf(start);
        const end = Math.min(toMs, hourStartMs + HOUR_MS);
        const key = `${hourStartMs}\u0000${pool.name}\u0000${namespace}\u0000${model}`;
        const entry = sums.get(key) ?? { hourStartMs, pool: pool.name, namespace, model, byteSeconds: 0 };
        entry.byteSeconds += (allocation.bytes * (end - start)) / 1000;
        sums.set(key, entry);
        start = end;
      }
    }
  }
  return [...sums.values()];
}

function modelOfHolder(holder: string): { namespace: string; model: string } {
  const slash = holder.indexOf('/');
  const hash = holder.indexOf('#', slash);
  return {
    namespace: holder.slice(0, slash),
    model: holder.slice(slash + 1, hash === -1 ? undefined : hash),
  };
}
