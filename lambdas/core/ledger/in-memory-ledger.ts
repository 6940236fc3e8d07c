import {
  LedgerError,
  type AllocateResult,
  type Allocation,
  type AllocationFence,
  type ClaimResult,
  type Cooldowns,
  type Ledger,
  type PoolDefinition,
  type PoolSnapshot,
  type ReleaseResult,
  type ResizeResult,
} from './ledger.js';
import { insufficient, notHeld, shrinkError, sizeMismatch } from './outcomes.js';
import {
  claimable,
  classifyAllocation,
  matchesFence,
  validateFence,
  validateBytes,
  validateHolder,
  validatePoolDefinition,
  validatePoolName,
  validateTime,
} from './rules.js';

interface PoolRecord {
  definition: PoolDefinition;
  allocations: Map<string, Allocation>;
}

/**
 * The ledger's rules over plain memory: the reference model the DynamoDB ledger is checked against, and
 * the fake that pure-logic tests use. Single-threaded JS makes every call atomic here.
 */
export class InMemoryLedger implements Ledger {
  private readonly pools = new Map<string, PoolRecord>();
  private readonly activity = new Map<string, number>();

  /** An independent copy with the same pools, allocations and activity. */
  copy(): InMemoryLedger {
    const copy = new InMemoryLedger();
    for (const [name, record] of this.pools) {
      copy.pools.set(name, {
        definition: { ...record.definition },
        allocations: new Map(record.allocations),
      });
    }
    for (const [key, at] of this.activity) copy.activity.set(key, at);
    return copy;
  }

  async definePool(definition: PoolDefinition): Promise<PoolSnapshot> {
    validatePoolDefinition(definition);
    const existing = this.pools.get(definition.name);
    if (existing) {
      const allocated = sum(existing.allocations);
      if (definition.totalBytes < allocated) throw shrinkError(definition, allocated);
      existing.definition = { ...definition };
    } else {
      this.pools.set(definition.name, { definition: { ...definition }, allocations: new Map() });
    }
    return this.readPool(definition.name);
  }

  async allocate(request: {
    pool: string;
    holder: string;
    bytes: number;
    now: number;
    cooldowns?: Cooldowns;
  }): Promise<AllocateResult> {
    validateHolder(request.holder);
    validateBytes(request.bytes);
    validateTime(request.now, 'now');
    const record = this.record(request.pool);
    const before = this.snapshot(record);
    switch (classifyAllocation(before, request.holder, request.bytes)) {
      case 'already-held':
        return { outcome: 'already-held', pool: before };
      case 'size-mismatch':
        throw sizeMismatch(request.pool, request.holder, before);
      case 'insufficient':
        return insufficient(before, request.bytes, request.now, request.cooldowns);
      case 'fits':
        record.allocations.set(request.holder, {
          holder: request.holder,
          bytes: request.bytes,
          since: request.now,
          lastActivity: undefined,
        });
        return { outcome: 'allocated', pool: this.snapshot(record) };
    }
  }

  async resize(request: {
    pool: string;
    holder: string;
    bytes: number;
    now: number;
    cooldowns?: Cooldowns;
  }): Promise<ResizeResult> {
    validateHolder(request.holder);
    validateBytes(request.bytes);
    validateTime(request.now, 'now');
    const record = this.record(request.pool);
    const held = record.allocations.get(request.holder);
    if (!held) throw notHeld(request.pool, request.holder);
    const before = this.snapshot(record);
    if (held.bytes === request.bytes)
      return { outcome: 'unchanged', previousBytes: held.bytes, pool: before };
    if (request.bytes - held.bytes > before.availableBytes) {
      return insufficient(before, request.bytes - held.bytes, request.now, request.cooldowns);
    }
    record.allocations.set(request.holder, { ...held, bytes: request.bytes });
    return { outcome: 'resized', previousBytes: held.bytes, pool: this.snapshot(record) };
  }

  async release(request: { pool: string; holder: string; fence: AllocationFence }): Promise<ReleaseResult> {
    validateHolder(request.holder);
    validateFence(request.fence);
    validatePoolName(request.pool);
    // As in DynamoDB, where the fence is the write's only condition: nothing held in an unknown pool.
    const record = this.pools.get(request.pool);
    const held = record?.allocations.get(request.holder);
    if (!record || !held || !matchesFence(held, request.fence)) return { released: false, bytes: 0 };
    record.allocations.delete(request.holder);
    return { released: true, bytes: held.bytes };
  }

  async claim(request: {
    pool: string;
    holder: string;
    fence: AllocationFence;
    now: number;
  }): Promise<ClaimResult> {
    validateHolder(request.holder);
    validateFence(request.fence);
    validateTime(request.now, 'now');
    validatePoolName(request.pool);
    const record = this.pools.get(request.pool);
    const held = record?.allocations.get(request.holder);
    if (!record || !held || !claimable(held, request.fence, request.now)) return { claimed: false };
    record.allocations.set(request.holder, { ...held, since: request.now });
    const claimed = this.snapshot(record).allocations.find((a) => a.holder === request.holder)!;
    return { claimed: true, allocation: claimed };
  }

  async recordActivity(request: { pool: string; holder: string; at: number }): Promise<void> {
    validateHolder(request.holder);
    validatePoolName(request.pool);
    validateTime(request.at, 'activity time');
    const key = `${request.pool}\u0000${request.holder}`;
    this.activity.set(key, Math.max(this.activity.get(key) ?? 0, request.at));
  }

  async readPool(pool: string): Promise<PoolSnapshot> {
    return this.snapshot(this.record(pool));
  }

  async listPools(): Promise<PoolSnapshot[]> {
    return [...this.pools.values()].map((record) => this.snapshot(record));
  }

  private record(pool: string): PoolRecord {
    validatePoolName(pool);
    const record = this.pools.get(pool);
    if (!record) throw new LedgerError('unknown_pool', `node pool "${pool}" is not defined in the ledger`);
    return record;
  }

  private snapshot(record: PoolRecord): PoolSnapshot {
    const allocatedBytes = sum(record.allocations);
    const allocations = [...record.allocations.values()]
      .map((a) => {
        const seen = this.activity.get(`${record.definition.name}\u0000${a.holder}`);
        return { ...a, lastActivity: seen !== undefined && seen >= a.since ? seen : undefined };
      })
      .sort((a, b) => (a.holder < b.holder ? -1 : 1));
    return {
      ...record.definition,
      allocatedBytes,
      availableBytes: record.definition.totalBytes - allocatedBytes,
      allocations,
    };
  }
}

function sum(allocations: Map<string, Allocation>): number {
  let total = 0;
  for (const a of allocations.values()) total += a.bytes;
  return total;
}
