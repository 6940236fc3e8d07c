import {
  DEFAULT_COOLDOWN_MS,
  LedgerError,
  type Allocation,
  type AllocationFence,
  type BlockingReport,
  type Cooldowns,
  type PoolDefinition,
  type PoolSnapshot,
} from './ledger.js';

// Names that end up in logs, metrics labels and DynamoDB attribute names: Kubernetes' own rules.
const POOL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const NODE_GROUP_NAME = /^[A-Za-z0-9][-A-Za-z0-9_]{0,62}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** `namespace/name`, or `namespace/name#N` for replica N of a multi-replica workload. */
const HOLDER = /^([^/#]+)\/([^/#]+)(#(0|[1-9][0-9]{0,3}))?$/;

export function validatePoolName(pool: string): void {
  if (typeof pool !== 'string' || !POOL_NAME.test(pool)) {
    throw new LedgerError(
      'invalid_input',
      `pool name "${printable(pool)}" is not valid: 1-63 letters, digits, '-', '_' or '.', starting and ending alphanumeric`,
    );
  }
}

export function validateHolder(holder: string): void {
  const match = typeof holder === 'string' ? HOLDER.exec(holder) : null;
  if (!match || !NAMESPACE.test(match[1] ?? '') || !OBJECT_NAME.test(match[2] ?? '')) {
    throw new LedgerError(
      'invalid_input',
      `holder "${printable(holder)}" is not valid: expected namespace/name (Kubernetes names), optionally #replica`,
    );
  }
}

export function validateBytes(bytes: number, what = 'size'): void {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new LedgerError(
      'invalid_input',
      `${what} must be a positive whole number of bytes, got ${printable(bytes)}`,
    );
  }
}

export function validatePoolDefinition(definition: PoolDefinition): void {
  validatePoolName(definition.name);
  if (!Number.isSafeInteger(definition.totalBytes) || definition.totalBytes < 0) {
    throw new LedgerError('invalid_input', `pool ${definition.name}: total must be zero or more bytes`);
  }
  validateBytes(definition.bytesPerNode, `pool ${definition.name}: GPU memory per node`);
  if (typeof definition.nodeGroup !== 'string' || !NODE_GROUP_NAME.test(definition.nodeGroup)) {
    throw new LedgerError(
      'invalid_input',
      `pool ${definition.name}: node group "${printable(definition.nodeGroup)}" is not a valid EKS node group name`,
    );
  }
}

export function validateTime(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new LedgerError('invalid_input', `${what} must be an epoch time in ms`);
}

export function validateFence(fence: AllocationFence): void {
  if (typeof fence !== 'object' || fence === null)
    throw new LedgerError('invalid_input', 'a release or claim needs the allocation it read (bytes, since)');
  validateBytes(fence.bytes, 'fenced size');
  validateTime(fence.since, 'fenced allocation time');
}

/** Whether the allocation held now is the one the caller read. */
export function matchesFence(held: Pick<Allocation, 'bytes' | 'since'>, fence: AllocationFence): boolean {
  return held.bytes === fence.bytes && held.since === fence.since;
}

/** A claim applies to the allocation read, or again to the one it already restamped (a retried claim). */
export function claimable(held: Pick<Allocation, 'bytes' | 'since'>, fence: AllocationFence, now: number) {
  return held.bytes === fence.bytes && (held.since === fence.since || held.since === now);
}

/** The fence of an allocation as read. */
export function fenceOf(allocation: Pick<Allocation, 'bytes' | 'since'>): AllocationFence {
  return { bytes: allocation.bytes, since: allocation.since };
}

export type AllocationFit = 'fits' | 'already-held' | 'size-mismatch' | 'insufficient';

/** What allocating `bytes` to `holder` would do to this pool, as the ledger's one rule says. */
export function classifyAllocation(pool: PoolSnapshot, holder: string, bytes: number): AllocationFit {
  const held = pool.allocations.find((a) => a.holder === holder);
  if (held) return held.bytes === bytes ? 'already-held' : 'size-mismatch';
  return bytes <= pool.availableBytes ? 'fits' : 'insufficient';
}

/** How long a holder has gone without a request; it counts from the allocation when none came since. */
export function idleMs(allocation: Allocation, now: number): number {
  return Math.max(0, now - Math.max(allocation.since, allocation.lastActivity ?? allocation.since));
}

/** A replica of a declared workload (`namespace/name#N`): held while it runs, never released by a cooldown. */
export function isWorkloadReplica(holder: string): boolean {
  return holder.includes('#');
}

/**
 * The allocations whose release would make room for `bytes`, idlest first, and the seconds until the
 * soonest of them reaches its cooldown. Nothing blocks a request larger than the whole pool: no
 * release would ever make it fit. Workload replicas are never among them (no cooldown releases them);
 * when the models alone cannot make room, they are all listed and no retry time is promised.
 */
export function findBlocking(
  pool: PoolSnapshot,
  bytes: number,
  now: number,
  cooldowns: Cooldowns = { defaultMs: DEFAULT_COOLDOWN_MS },
): BlockingReport {
  const needed = bytes - pool.availableBytes;
  if (needed <= 0 || bytes > pool.totalBytes) return { blocking: [], retryAfterSeconds: undefined };
  const idlestFirst = pool.allocations
    .filter((a) => !isWorkloadReplica(a.holder))
    .map((a) => ({ holder: a.holder, bytes: a.bytes, idleMs: idleMs(a, now) }))
    .sort((a, b) => b.idleMs - a.idleMs || (a.holder < b.holder ? -1 : 1));
  const blocking = [];
  let freed = 0;
  for (const candidate of idlestFirst) {
    if (freed >= needed) break;
    blocking.push(candidate);
    freed += candidate.bytes;
  }
  if (freed < needed) return { blocking, retryAfterSeconds: undefined };
  const untilCooldown = blocking.map(
    (b) => (cooldowns.byHolder?.[b.holder] ?? cooldowns.defaultMs) - b.idleMs,
  );
  return { blocking, retryAfterSeconds: Math.ceil(Math.max(0, Math.min(...untilCooldown)) / 1000) };
}

/** A pool whose counters agree with its allocations; anything else is a bug worth failing loudly on. */
export function checkInvariants(pool: PoolSnapshot): string[] {
  const problems: string[] = [];
  const sum = pool.allocations.reduce((total, a) => total + a.bytes, 0);
  if (sum !== pool.allocatedBytes)
    problems.push(`allocated ${pool.allocatedBytes} != sum of allocations ${sum}`);
  if (pool.allocatedBytes + pool.availableBytes !== pool.totalBytes) {
    problems.push(
      `allocated ${pool.allocatedBytes} + available ${pool.availableBytes} != total ${pool.totalBytes}`,
    );
  }
  if (pool.allocatedBytes > pool.totalBytes)
    problems.push(`allocated ${pool.allocatedBytes} > total ${pool.totalBytes}`);
  if (pool.availableBytes < 0) problems.push(`available ${pool.availableBytes} < 0`);
  return problems;
}

/** A value shown in an error message: quoted input is cut short and stripped of control characters. */
export function printable(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}
