import { formatDuration } from '../duration.js';
import type { PoolSnapshot } from '../ledger/ledger.js';
import type { NodePoolConfig } from './node-pools.js';
import { packOntoNodes, type Item } from './packing.js';
import { SCALE_OUT_TIMEOUT_MS, type NodeGroupState, type PoolNode, type ScaleOutRequest } from './ports.js';

export interface PoolPlanInput {
  config: NodePoolConfig;
  pool: PoolSnapshot;
  group: NodeGroupState;
  nodes: readonly PoolNode[];
  pending: ScaleOutRequest | undefined;
  now: number;
  stabilisationMs: number;
}

export type NodeDecision =
  | { node: string; action: 'scale-in'; instanceId: string; emptyForMs: number; reason: string }
  | { node: string; action: 'keep'; reason: string; empty: boolean };

export interface PoolPlan {
  /** The node group's min and max, narrowed by the pool's configured min and max. */
  bounds: { min: number; max: number };
  /** Nodes the allocations pack onto, within the bounds. */
  neededNodes: number;
  /** Nodes the allocations pack onto, before the bounds; more than `bounds.max` means some must wait. */
  packedNodes: number;
  unplaceable: readonly Item[];
  /** The group's desired size, or the scale-out target while one is on its way. */
  desiredNodes: number;
  /** Ready nodes whose instance is in the node group and that are not being taken out. */
  readyNodes: number;
  /** GPU memory the ready nodes hold beyond what is allocated (the rest of the budget needs a scale-out). */
  availableOnRunningNodes: number;
  scaleOut: { target: number } | undefined;
  /** What became of the recorded scale-out: its nodes are ready, or it took too long. */
  pendingOutcome: 'completed' | 'timed-out' | undefined;
  emptyMarks: { node: string; since: number | undefined }[];
  uncordon: string[];
  decisions: NodeDecision[];
}

/** Nodes needed for a pool's allocations (first-fit decreasing), within [min, max]. */
export function neededNodes(pool: PoolSnapshot, bounds: { min: number; max: number }) {
  const packing = packOntoNodes(pool.allocations, pool.bytesPerNode);
  const packed = packing.nodes.length;
  return { packed, needed: Math.min(bounds.max, Math.max(bounds.min, packed)), packing };
}

/**
 * One pool's scaling decisions, as a pure function of the ledger, the node group and the nodes.
 * Scale out as soon as the allocations need more nodes than the group has; scale in only nodes that
 * have run no budgeted workload for the whole stabilisation window, never while a scale-out is on its
 * way, never below what the allocations need or the group's minimum.
 */
export function planPool(input: PoolPlanInput): PoolPlan {
  const { config, pool, group, now, pending } = input;
  const bounds = {
    min: Math.max(config.minNodes, group.minSize),
    max: Math.min(config.maxNodes, group.maxSize),
  };
  const { packed, needed, packing } = neededNodes(pool, bounds);
  const inGroup = new Set(group.instanceIds);
  // A node whose instance left the group is on its way out; the cloud controller deletes it.
  const live = input.nodes.filter((n) => n.instanceId === undefined || inGroup.has(n.instanceId));
  const readyNodes = live.filter((n) => n.ready && n.scaleInStartedAt === undefined).length;

  const pendingActive = pending !== undefined && now - pending.requestedAt < SCALE_OUT_TIMEOUT_MS;
  const pendingOutcome =
    pending === undefined
      ? undefined
      : readyNodes >= pending.target
        ? ('completed' as const)
        : pendingActive
          ? undefined
          : ('timed-out' as const);
  const waitingForScaleOut = pending !== undefined && pendingOutcome === undefined;
  const alreadyRequested = waitingForScaleOut && pending.target >= needed;
  const scaleOut = needed > group.desiredSize && !alreadyRequested ? { target: needed } : undefined;

  const emptyMarks: PoolPlan['emptyMarks'] = [];
  const uncordon: string[] = [];
  const decisions: NodeDecision[] = [];
  const candidates: { node: PoolNode; emptyForMs: number }[] = [];
  for (const node of live) {
    if (node.budgetedPods > 0) {
      if (node.emptySince !== undefined) emptyMarks.push({ node: node.name, since: undefined });
      if (node.scaleInStartedAt !== undefined) uncordon.push(node.name);
      decisions.push(keep(node, `runs ${node.budgetedPods} budgeted pod(s)`, false));
    } else if (node.scaleInStartedAt !== undefined && node.instanceId !== undefined) {
      candidates.push({ node, emptyForMs: now - (node.emptySince ?? node.scaleInStartedAt) });
    } else if (!node.ready) {
      decisions.push(keep(node, 'not ready yet', false));
    } else if (node.instanceId === undefined) {
      decisions.push(keep(node, 'no EC2 instance in spec.providerID, so it cannot be taken out', true));
    } else if (node.emptySince === undefined) {
      emptyMarks.push({ node: node.name, since: now });
      decisions.push(keep(node, `empty; stabilising for ${formatDuration(input.stabilisationMs)}`, true));
    } else if (now - node.emptySince < input.stabilisationMs) {
      const emptyFor = formatDuration(now - node.emptySince);
      decisions.push(
        keep(node, `empty for ${emptyFor}, within the ${formatDuration(input.stabilisationMs)} window`, true),
      );
    } else {
      candidates.push({ node, emptyForMs: now - node.emptySince });
    }
  }

  // Taking out more than this would leave fewer nodes than the allocations need or the group's minimum.
  const floor = Math.max(needed, bounds.min);
  const removable = waitingForScaleOut ? 0 : Math.max(0, Math.min(group.desiredSize, live.length) - floor);
  candidates.sort(
    (a, b) =>
      Number(b.node.scaleInStartedAt !== undefined) - Number(a.node.scaleInStartedAt !== undefined) ||
      b.emptyForMs - a.emptyForMs ||
      (a.node.name < b.node.name ? -1 : 1),
  );
  candidates.forEach(({ node, emptyForMs }, index) => {
    const emptyFor = formatDuration(emptyForMs);
    if (index < removable) {
      decisions.push({
        node: node.name,
        action: 'scale-in',
        instanceId: node.instanceId!,
        emptyForMs,
        reason: `no budgeted workload for ${emptyFor}`,
      });
      return;
    }
    // A node cordoned in an earlier pass that is now needed goes back into service.
    if (node.scaleInStartedAt !== undefined) uncordon.push(node.name);
    if (waitingForScaleOut) {
      decisions.push(keep(node, `empty for ${emptyFor}, but a scale-out is on its way`, true));
    } else {
      const why =
        floor === needed && needed > bounds.min
          ? `the allocations need ${needed} node(s)`
          : `the node group's minimum is ${bounds.min}`;
      decisions.push(keep(node, `empty for ${emptyFor}, but ${why}`, true));
    }
  });

  return {
    bounds,
    neededNodes: needed,
    packedNodes: packed,
    unplaceable: packing.unplaceable,
    // What the group is on its way to: EKS applies desiredSize to the Auto Scaling group asynchronously.
    desiredNodes: waitingForScaleOut ? Math.max(group.desiredSize, pending.target) : group.desiredSize,
    readyNodes,
    availableOnRunningNodes: Math.max(0, readyNodes * pool.bytesPerNode - pool.allocatedBytes),
    scaleOut,
    pendingOutcome,
    emptyMarks,
    uncordon,
    decisions,
  };
}

function keep(node: PoolNode, reason: string, empty: boolean): NodeDecision {
  return { node: node.name, action: 'keep', reason, empty };
}
