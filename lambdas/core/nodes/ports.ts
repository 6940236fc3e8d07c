import type { ReconcileLog } from '../reconcile/ports.js';
import type { NodePoolConfig } from './node-pools.js';

/** A Kubernetes node of a pool (label `inference-pool`), as the node scaler sees it. */
export interface PoolNode {
  readonly name: string;
  /** The EC2 instance behind the node, from `spec.providerID` (`aws:///<az>/<instance-id>`). */
  readonly instanceId: string | undefined;
  readonly ready: boolean;
  /** Pods of budgeted workloads (managed Deployments) bound to the node and not finished. */
  readonly budgetedPods: number;
  /** When the scaler first saw the node run no budgeted workload (node annotation). */
  readonly emptySince: number | undefined;
  /** When the scaler cordoned the node to take it out (node annotation). */
  readonly scaleInStartedAt: number | undefined;
}

/** The Kubernetes side: the pool's nodes, and the marks and cordons the scaler puts on them. */
export interface PoolNodes {
  list(pool: string): Promise<PoolNode[]>;
  markEmptySince(node: string, since: number | undefined): Promise<void>;
  cordon(node: string, at: number): Promise<void>;
  uncordon(node: string): Promise<void>;
  /** Counted fresh, right before a node is taken out. */
  budgetedPodsOn(node: string): Promise<number>;
}

export interface NodeGroupState {
  /** The Auto Scaling group's desired capacity: where EKS and instance termination both end up. */
  readonly desiredSize: number;
  readonly minSize: number;
  readonly maxSize: number;
  /** Instances of the node group's Auto Scaling group. */
  readonly instanceIds: readonly string[];
}

/** The AWS side: an EKS managed node group and its Auto Scaling group. */
export interface NodeGroups {
  describe(nodeGroup: string): Promise<NodeGroupState>;
  /** UpdateNodegroupConfig desiredSize; only ever used to grow. */
  scaleOut(nodeGroup: string, desiredSize: number): Promise<void>;
  /** TerminateInstanceInAutoScalingGroup with a decrement of desired capacity: this instance, no other. */
  terminate(nodeGroup: string, instanceId: string): Promise<void>;
}

export interface ScaleOutRequest {
  readonly target: number;
  readonly requestedAt: number;
}

/** The pool's outstanding scale-out, shared by the warm-up and the scheduled Lambdas. */
export interface ScaleOutRecords {
  pending(pool: string): Promise<ScaleOutRequest | undefined>;
  /**
   * Records a request unless one for as many nodes or more, younger than `staleBefore`, is already
   * recorded: false then, and the caller leaves the scale-out to whoever recorded it.
   */
  record(pool: string, request: ScaleOutRequest, staleBefore: number): Promise<boolean>;
  /** Removes exactly this request (a newer one recorded meanwhile stays). */
  clear(pool: string, request: ScaleOutRequest): Promise<void>;
}

export interface NodeScalingPorts {
  pools: readonly NodePoolConfig[];
  groups: NodeGroups;
  nodes: PoolNodes;
  scaleOuts: ScaleOutRecords;
  log: ReconcileLog;
  clock: () => number;
  /** How long a node must run no budgeted workload before it is taken out. */
  stabilisationMs: number;
}

export const DEFAULT_STABILISATION_MS = 10 * 60 * 1000;
/** A scale-out that has not brought its nodes after this long is dropped, and requested again if still needed. */
export const SCALE_OUT_TIMEOUT_MS = 15 * 60 * 1000;
