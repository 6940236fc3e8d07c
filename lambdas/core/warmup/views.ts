import { formatDuration } from '../duration.js';
import type { Allocation, PoolSnapshot } from '../ledger/ledger.js';
import type { NodeCapacity } from '../nodes/scaler.js';
import { idleMs } from '../ledger/rules.js';
import { idleMsOf, readyAt } from '../reconcile/clocks.js';
import { deriveStatus, type Hold } from '../reconcile/status.js';
import { formatQuantity } from '../quantity.js';
import { holderOf, poolOf, type InferenceModel } from '../inference-model.js';
import { type ManagedDeployment } from '../reconcile/ports.js';

/** A model as the warm-up API shows it. */
export interface ModelView {
  namespace: string;
  name: string;
  modelName: string;
  memory: string;
  pool: string;
  ready: boolean;
  replicas: number;
  reason: string | undefined;
  message: string | undefined;
  /** Time since the last request while the model holds budget; absent when it holds none. */
  idle_for?: string;
  /** Set when the model's allocation needs a node that is not ready yet: the node group is scaling out. */
  waitingForNode?: { nodeGroup: string; readyNodes: number; desiredNodes: number };
}

/**
 * The model as the API shows it, derived the way the reconciler derives its status from the same
 * Deployment: `ready`, `replicas` and the reason never contradict each other, even between passes.
 * Why a model waits (InsufficientMemory, Pending, the cluster's words while Deploying) comes from the
 * last status the reconciler wrote, while the Deployment still agrees with it.
 */
export function modelView(
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  allocation: Allocation | undefined,
  now: number,
): ModelView {
  const status = deriveStatus(model, deployment, heldReason(model), now);
  const condition = status.conditions?.find((c) => c.type === 'Ready');
  return {
    namespace: model.namespace,
    name: model.name,
    modelName: model.spec.modelName,
    memory: model.spec.memory,
    pool: poolOf(model),
    ready: status.ready === true,
    replicas: status.replicas ?? 0,
    reason: condition?.reason,
    message: condition?.message,
    ...(allocation
      ? { idle_for: formatDuration(idleMsOf(allocation, readyAt(model, deployment, now), now)) }
      : {}),
  };
}

function heldReason(model: InferenceModel): Hold | undefined {
  const stored = model.status.conditions?.find((c) => c.type === 'Ready');
  if (!stored || stored.status === 'True') return undefined;
  const { reason, message } = stored;
  if (reason === 'InsufficientMemory' || reason === 'Pending' || reason === 'Terminating')
    return { reason, message };
  return undefined;
}

export interface PoolView {
  name: string;
  nodeGroup: string;
  total: string;
  allocated: string;
  available: string;
  totalBytes: number;
  allocatedBytes: number;
  availableBytes: number;
  /** The budget left once the node group is at its maximum size (the same as `available`). */
  availableAfterScaleOut: string;
  availableAfterScaleOutBytes: number;
  /** Present when the pool has a node group: GPU memory free on the nodes that are ready now. */
  availableOnRunningNodes?: string;
  availableOnRunningNodesBytes?: number;
  nodes?: { nodeGroup: string; ready: number; desired: number; needed: number };
  allocations: { holder: string; memory: string; since: string; lastActivity?: string; idle_for: string }[];
}

export function poolView(pool: PoolSnapshot, now: number, capacity?: NodeCapacity): PoolView {
  return {
    name: pool.name,
    nodeGroup: pool.nodeGroup,
    total: formatQuantity(pool.totalBytes),
    allocated: formatQuantity(pool.allocatedBytes),
    available: formatQuantity(pool.availableBytes),
    totalBytes: pool.totalBytes,
    allocatedBytes: pool.allocatedBytes,
    availableBytes: pool.availableBytes,
    availableAfterScaleOut: formatQuantity(pool.availableBytes),
    availableAfterScaleOutBytes: pool.availableBytes,
    ...(capacity && {
      availableOnRunningNodes: formatQuantity(capacity.availableOnRunningNodes),
      availableOnRunningNodesBytes: capacity.availableOnRunningNodes,
      nodes: {
        nodeGroup: capacity.nodeGroup,
        ready: capacity.readyNodes,
        desired: capacity.desiredNodes,
        needed: capacity.neededNodes,
      },
    }),
    allocations: pool.allocations.map((a) => ({
      holder: a.holder,
      memory: formatQuantity(a.bytes),
      since: new Date(a.since).toISOString(),
      ...(a.lastActivity !== undefined ? { lastActivity: new Date(a.lastActivity).toISOString() } : {}),
      idle_for: formatDuration(idleMs(a, now)),
    })),
  };
}

export function allocationOf(pool: PoolSnapshot | undefined, model: InferenceModel): Allocation | undefined {
  return pool?.allocations.find((a) => a.holder === holderOf(model));
}
