import { formatDuration } from '../duration.js';
import { LedgerError, type Ledger, type PoolSnapshot } from '../ledger/ledger.js';
import { formatQuantity } from '../quantity.js';
import type { ReconcileLog } from '../reconcile/ports.js';
import { SCALE_OUT_TIMEOUT_MS, type NodeScalingPorts, type ScaleOutRequest } from './ports.js';
import { poolDefinition, type NodePoolConfig } from './node-pools.js';
import { planPool, type PoolPlan } from './plan.js';

/** A pool's nodes as a warm-up answer or the pools API shows them. */
export interface NodeCapacity {
  nodeGroup: string;
  readyNodes: number;
  desiredNodes: number;
  neededNodes: number;
  availableOnRunningNodes: number;
  /** The allocations need more nodes than are ready: the newest of them waits for a node. */
  waitingForNode: boolean;
}

/** What one scheduled pass did to one pool, for metrics. */
export interface NodePoolReport extends NodeCapacity {
  pool: string;
  scaleOutSeconds: number | undefined;
  scaledIn: number;
}

/**
 * Puts every configured pool's budget in the ledger: total = maxNodes x GPU memory per node. A pool
 * that cannot take its new size (more is allocated) keeps its old one and is logged; the others go on.
 */
export async function definePools(
  ledger: Ledger,
  pools: readonly NodePoolConfig[],
  log: ReconcileLog,
): Promise<void> {
  for (const pool of pools) {
    try {
      await ledger.definePool(poolDefinition(pool));
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      log.error('Node pool budget not updated', { nodePool: pool.name, error: error.message });
    }
  }
}

/**
 * Right after an allocation: scale the pool's node group out at once if the allocations need a node
 * it does not have. Undefined for a pool without a node group configured.
 */
export async function ensureNodeCapacity(
  ports: NodeScalingPorts,
  pool: PoolSnapshot,
): Promise<NodeCapacity | undefined> {
  const config = ports.pools.find((p) => p.name === pool.name);
  if (!config) return undefined;
  const { plan } = await planFor(ports, config, pool);
  const target = plan.scaleOut ? await requestScaleOut(ports, config, plan, 'allocation') : undefined;
  return capacity(config, plan, target);
}

/** The pool's nodes without changing anything (the pools API). */
export async function readNodeCapacity(
  ports: NodeScalingPorts,
  pool: PoolSnapshot,
): Promise<NodeCapacity | undefined> {
  const config = ports.pools.find((p) => p.name === pool.name);
  return config && capacity(config, (await planFor(ports, config, pool)).plan, undefined);
}

/** The scheduled pass over every configured pool; a pool that fails is logged and the others go on. */
export async function scaleNodePools(
  ports: NodeScalingPorts,
  pools: readonly PoolSnapshot[],
): Promise<NodePoolReport[]> {
  const reports: NodePoolReport[] = [];
  for (const config of ports.pools) {
    const pool = pools.find((p) => p.name === config.name);
    if (!pool) continue; // definePools logged why
    try {
      reports.push(await scalePool(ports, config, pool));
    } catch (error) {
      ports.log.error('Node pool scaling failed', {
        nodePool: config.name,
        nodeGroup: config.nodeGroup,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return reports;
}

async function scalePool(
  ports: NodeScalingPorts,
  config: NodePoolConfig,
  pool: PoolSnapshot,
): Promise<NodePoolReport> {
  const { log, nodes, groups } = ports;
  const now = ports.clock();
  const { plan, pending } = await planFor(ports, config, pool);
  const where = { nodePool: config.name, nodeGroup: config.nodeGroup };

  let scaleOutSeconds: number | undefined;
  if (pending && plan.pendingOutcome === 'completed') {
    scaleOutSeconds = (now - pending.requestedAt) / 1000;
    await ports.scaleOuts.clear(config.name, pending);
    log.info('Node scale-out completed', { ...where, nodes: pending.target, seconds: scaleOutSeconds });
  } else if (pending && plan.pendingOutcome === 'timed-out') {
    await ports.scaleOuts.clear(config.name, pending);
    log.warn('Node scale-out timed out', {
      ...where,
      target: pending.target,
      readyNodes: plan.readyNodes,
      after: formatDuration(SCALE_OUT_TIMEOUT_MS),
    });
  }
  if (plan.unplaceable.length > 0 || plan.packedNodes > plan.bounds.max) {
    log.warn('Allocations do not fit the node group', {
      ...where,
      packedNodes: plan.packedNodes,
      maxNodes: plan.bounds.max,
      largerThanANode: plan.unplaceable.map((i) => `${i.holder} (${formatQuantity(i.bytes)})`),
    });
  }
  const target = plan.scaleOut ? await requestScaleOut(ports, config, plan, 'scheduled pass') : undefined;

  await Promise.all(plan.emptyMarks.map((mark) => nodes.markEmptySince(mark.node, mark.since)));
  await Promise.all(plan.uncordon.map((node) => nodes.uncordon(node)));
  let scaledIn = 0;
  for (const decision of plan.decisions) {
    if (decision.action === 'keep') {
      // Only the nodes a scale-in could concern: busy nodes every minute would drown the log.
      if (decision.empty)
        log.info('Node scale-in decision', {
          ...where,
          node: decision.node,
          decision: 'keep',
          reason: decision.reason,
        });
      continue;
    }
    log.info('Node scale-in decision', {
      ...where,
      node: decision.node,
      decision: 'scale-in',
      reason: decision.reason,
    });
    await nodes.cordon(decision.node, now);
    // Cordoned, nothing new lands on it; a pod that was scheduled between the list and the cordon still counts.
    const running = await nodes.budgetedPodsOn(decision.node);
    if (running > 0) {
      await nodes.uncordon(decision.node);
      log.info('Node scale-in decision', {
        ...where,
        node: decision.node,
        decision: 'keep',
        reason: `a budgeted pod landed on it while it was being cordoned (${running})`,
      });
      continue;
    }
    await groups.terminate(config.nodeGroup, decision.instanceId);
    scaledIn += 1;
    log.info('Node scaled in', {
      ...where,
      node: decision.node,
      instanceId: decision.instanceId,
      reason: decision.reason,
      emptyFor: formatDuration(decision.emptyForMs),
    });
  }
  const report = capacity(config, plan, target);
  return {
    ...report,
    desiredNodes: report.desiredNodes - scaledIn,
    pool: config.name,
    scaleOutSeconds,
    scaledIn,
  };
}

/** One read of each side (node group, nodes, outstanding scale-out), then the pure plan. */
async function planFor(
  ports: NodeScalingPorts,
  config: NodePoolConfig,
  pool: PoolSnapshot,
): Promise<{ plan: PoolPlan; pending: ScaleOutRequest | undefined }> {
  const [group, nodes, pending] = await Promise.all([
    ports.groups.describe(config.nodeGroup),
    ports.nodes.list(config.name),
    ports.scaleOuts.pending(config.name),
  ]);
  const plan = planPool({
    config,
    pool,
    group,
    nodes,
    pending,
    now: ports.clock(),
    stabilisationMs: ports.stabilisationMs,
  });
  return { plan, pending };
}

/**
 * Records the request first, so of two Lambdas that see the same need only one asks EKS, then sets
 * desiredSize. A failed EKS call drops the record, so the next pass asks again. Returns the new target,
 * or undefined when another caller already asked for as many nodes.
 */
async function requestScaleOut(
  ports: NodeScalingPorts,
  config: NodePoolConfig,
  plan: PoolPlan,
  trigger: string,
): Promise<number | undefined> {
  const now = ports.clock();
  const request = { target: plan.scaleOut!.target, requestedAt: now };
  if (!(await ports.scaleOuts.record(config.name, request, now - SCALE_OUT_TIMEOUT_MS))) return undefined;
  try {
    await ports.groups.scaleOut(config.nodeGroup, request.target);
  } catch (error) {
    await ports.scaleOuts.clear(config.name, request);
    throw error;
  }
  ports.log.info('Node scale-out requested', {
    nodePool: config.name,
    nodeGroup: config.nodeGroup,
    from: plan.desiredNodes,
    to: request.target,
    neededNodes: plan.neededNodes,
    readyNodes: plan.readyNodes,
    trigger,
  });
  return request.target;
}

function capacity(config: NodePoolConfig, plan: PoolPlan, target: number | undefined): NodeCapacity {
  return {
    nodeGroup: config.nodeGroup,
    readyNodes: plan.readyNodes,
    desiredNodes: Math.max(plan.desiredNodes, target ?? 0),
    neededNodes: plan.neededNodes,
    availableOnRunningNodes: plan.availableOnRunningNodes,
    waitingForNode: plan.packedNodes > plan.readyNodes,
  };
}
