import type { Allocation, Ledger, PoolSnapshot } from '../ledger/ledger.js';
import { fenceOf } from '../ledger/rules.js';
import { formatQuantity } from '../quantity.js';
import type { ReconcileLog } from '../reconcile/ports.js';
import type { MoeCluster } from './ports.js';
import { parseReplicaHolder, replicaHolder, workloadKey, type MoeWorkload } from './workload.js';

export interface WorkloadBudgetPorts {
  cluster: Pick<MoeCluster, 'listWorkloads' | 'scale'>;
  ledger: Ledger;
  log: ReconcileLog;
  clock: () => number;
}

export interface WorkloadBudgetOptions {
  /** An allocation younger than this is a scale-up in flight (allocate, then scale), never drift. */
  orphanGraceMs: number;
  /** Holders of other namespaces are none of this control plane's business (WATCH_NAMESPACE). */
  namespaces: readonly string[] | undefined;
}

export interface WorkloadPassReport {
  workloads: number;
  invalid: number;
  /** Holders written this pass, by what was done to them. */
  allocated: string[];
  resized: string[];
  released: string[];
  /** Replicas running without an allocation because their pool is full. */
  unbudgeted: string[];
  errors: { workload: string; message: string }[];
}

/**
 * Drift repair for declared MoE workloads, part of the scheduled pass: every running replica holds its
 * allocation (`namespace/name#N`), nothing more is held, and no workload runs past its declared maximum.
 * A pass that finds nothing to repair writes nothing.
 */
export async function reconcileWorkloads(
  ports: WorkloadBudgetPorts,
  pools: PoolSnapshot[],
  options: WorkloadBudgetOptions,
): Promise<WorkloadPassReport> {
  const now = ports.clock();
  const { workloads, invalid } = await ports.cluster.listWorkloads();
  const report: WorkloadPassReport = {
    workloads: workloads.length,
    invalid: invalid.length,
    allocated: [],
    resized: [],
    released: [],
    unbudgeted: [],
    errors: [],
  };
  for (const bad of invalid) {
    ports.log.warn('MoE workload declaration is invalid; its allocations are kept as they are', {
      workload: bad.name,
      namespace: bad.namespace,
      problems: bad.problems,
    });
  }
  const held = heldByWorkload(pools);
  const declared = new Set([...workloads, ...invalid].map(workloadKey));
  for (const workload of workloads) {
    try {
      await repair(ports, workload, held.get(workloadKey(workload)) ?? [], pools, now, options, report);
    } catch (error) {
      report.errors.push({ workload: workloadKey(workload), message: messageOf(error) });
      ports.log.error('MoE workload budget repair failed', { ...fields(workload), error: messageOf(error) });
    }
  }
  for (const [key, holdings] of held) {
    if (declared.has(key)) continue;
    const [namespace] = key.split('/');
    if (options.namespaces !== undefined && !options.namespaces.includes(namespace!)) continue;
    for (const holding of holdings) {
      if (now - holding.allocation.since < options.orphanGraceMs) continue;
      await release(ports, holding, 'no declared MoE workload holds it', report);
    }
  }
  return report;
}

interface Holding {
  pool: string;
  replica: number;
  allocation: Allocation;
}

function heldByWorkload(pools: PoolSnapshot[]): Map<string, Holding[]> {
  const held = new Map<string, Holding[]>();
  for (const pool of pools) {
    for (const allocation of pool.allocations) {
      const replica = parseReplicaHolder(allocation.holder);
      if (!replica) continue;
      const key = workloadKey(replica);
      held.set(key, [...(held.get(key) ?? []), { pool: pool.name, replica: replica.replica, allocation }]);
    }
  }
  return held;
}

async function repair(
  ports: WorkloadBudgetPorts,
  workload: MoeWorkload,
  holdings: Holding[],
  pools: PoolSnapshot[],
  now: number,
  options: WorkloadBudgetOptions,
  report: WorkloadPassReport,
): Promise<void> {
  let replicas = workload.replicas;
  if (replicas > workload.maxReplicas) {
    await ports.cluster.scale(workload, workload.maxReplicas);
    ports.log.warn('Scaled MoE workload down to its declared maximum', {
      ...fields(workload),
      replicas,
      maxReplicas: workload.maxReplicas,
    });
    replicas = workload.maxReplicas;
  }
  // Allocations in another pool are left from before the declaration moved: the pods no longer run there.
  for (const holding of holdings) {
    const outside = holding.pool !== workload.pool;
    const surplus = holding.replica >= replicas && now - holding.allocation.since >= options.orphanGraceMs;
    if (outside || surplus) {
      await release(
        ports,
        holding,
        outside ? 'workload moved to another pool' : 'replica scaled down',
        report,
      );
    }
  }
  if (!pools.some((p) => p.name === workload.pool)) {
    if (replicas > 0) {
      ports.log.warn('MoE workload pool has no budget', { ...fields(workload), nodePool: workload.pool });
    }
    return;
  }
  const inPool = new Map(holdings.filter((h) => h.pool === workload.pool).map((h) => [h.replica, h]));
  for (let replica = 0; replica < replicas; replica++) {
    const holder = replicaHolder(workload, replica);
    const holding = inPool.get(replica);
    const request = { pool: workload.pool, holder, bytes: workload.memoryBytes, now };
    const logged = { ...fields(workload), replica, memory: workload.memory, nodePool: workload.pool };
    if (!holding) {
      const result = await ports.ledger.allocate(request);
      if (result.outcome === 'insufficient') {
        report.unbudgeted.push(holder);
        ports.log.warn('Running without a memory budget allocation', {
          ...logged,
          available: formatQuantity(result.availableBytes),
        });
      } else if (result.outcome === 'allocated') {
        report.allocated.push(holder);
        ports.log.info('Memory budget allocated', logged);
      }
    } else if (holding.allocation.bytes !== workload.memoryBytes) {
      const result = await ports.ledger.resize(request);
      if (result.outcome === 'insufficient') {
        report.unbudgeted.push(holder);
        ports.log.warn('Cannot grow MoE replica allocation', logged);
      } else if (result.outcome === 'resized') {
        report.resized.push(holder);
        ports.log.info('Memory budget allocated', {
          ...logged,
          resizedFrom: formatQuantity(result.previousBytes),
        });
      }
    }
  }
}

async function release(
  ports: WorkloadBudgetPorts,
  holding: Holding,
  reason: string,
  report: WorkloadPassReport,
): Promise<void> {
  const result = await ports.ledger.release({
    pool: holding.pool,
    holder: holding.allocation.holder,
    fence: fenceOf(holding.allocation),
  });
  if (!result.released) return;
  report.released.push(holding.allocation.holder);
  const replica = parseReplicaHolder(holding.allocation.holder)!;
  ports.log.info('Memory budget released', {
    workload: replica.name,
    namespace: replica.namespace,
    replica: replica.replica,
    nodePool: holding.pool,
    reason,
    memory: formatQuantity(result.bytes),
  });
}

function fields(workload: MoeWorkload): Record<string, string> {
  return { workload: workload.name, namespace: workload.namespace, role: workload.role };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
