import type {
  NodeGroups,
  NodeGroupState,
  PoolNode,
  PoolNodes,
  ScaleOutRecords,
  ScaleOutRequest,
} from '../lambdas/core/nodes/ports.js';
import type { NodePoolConfig } from '../lambdas/core/nodes/node-pools.js';

interface SimulatedNode {
  name: string;
  pool: string;
  instanceId: string;
  readyAt: number;
  cordoned: boolean;
  emptySince: number | undefined;
  scaleInStartedAt: number | undefined;
  /** GPU memory of the pods placed on it, by pod. */
  pods: Map<string, number>;
}

/** A node's life for the economics: when it was asked for and when it went away. */
export interface NodeLifetime {
  pool: string;
  from: number;
  to: number | undefined;
}

/**
 * EKS managed node groups, their Auto Scaling groups and the Kubernetes nodes they bring, in memory:
 * a node asked for boots after `bootMs`; pods are placed first-fit by GPU memory, never across nodes.
 * Implements the node scaler's three ports (nodes, groups, scale-out records).
 */
export class SimulatedNodes implements PoolNodes, NodeGroups, ScaleOutRecords {
  private readonly nodes = new Map<string, SimulatedNode>();
  private readonly desired = new Map<string, number>();
  private readonly scaleOuts = new Map<string, ScaleOutRequest>();
  readonly lifetimes: NodeLifetime[] = [];
  private serial = 0;

  constructor(
    readonly pools: readonly NodePoolConfig[],
    private readonly bootMs: (pool: string) => number,
    private readonly clock: () => number,
    private readonly onNodeGone: (node: string) => void,
  ) {
    for (const pool of pools) {
      this.desired.set(pool.nodeGroup, 0);
      this.grow(pool, pool.minNodes, -Infinity);
    }
  }

  hasPool(pool: string): boolean {
    return this.pools.some((p) => p.name === pool);
  }

  count(): number {
    return this.nodes.size;
  }

  /** Nodes per pool now (booting ones included: they are paid for). */
  nodesIn(pool: string): number {
    return [...this.nodes.values()].filter((n) => n.pool === pool).length;
  }

  place(pool: string, pod: string, bytes: number, now: number): string | undefined {
    const config = this.config(pool);
    for (const node of this.nodes.values()) {
      if (node.pool !== pool || node.cordoned || node.readyAt > now) continue;
      const used = [...node.pods.values()].reduce((a, b) => a + b, 0);
      if (used + bytes <= config.bytesPerNode) {
        node.pods.set(pod, bytes);
        return node.name;
      }
    }
    return undefined;
  }

  free(node: string, pod: string): void {
    this.nodes.get(node)?.pods.delete(pod);
  }

  // ---- PoolNodes ----
  async list(pool: string): Promise<PoolNode[]> {
    const now = this.clock();
    return [...this.nodes.values()]
      .filter((n) => n.pool === pool)
      .map((n) => ({
        name: n.name,
        instanceId: n.instanceId,
        ready: n.readyAt <= now,
        budgetedPods: n.pods.size,
        emptySince: n.emptySince,
        scaleInStartedAt: n.scaleInStartedAt,
      }));
  }
  async markEmptySince(node: string, since: number | undefined): Promise<void> {
    const n = this.nodes.get(node);
    if (n) n.emptySince = since;
  }
  async cordon(node: string, at: number): Promise<void> {
    const n = this.nodes.get(node);
    if (n) {
      n.cordoned = true;
      n.scaleInStartedAt = at;
    }
  }
  async uncordon(node: string): Promise<void> {
    const n = this.nodes.get(node);
    if (n) {
      n.cordoned = false;
      n.scaleInStartedAt = undefined;
    }
  }
  async budgetedPodsOn(node: string): Promise<number> {
    return this.nodes.get(node)?.pods.size ?? 0;
  }

  // ---- NodeGroups ----
  async describe(nodeGroup: string): Promise<NodeGroupState> {
    const config = this.pools.find((p) => p.nodeGroup === nodeGroup)!;
    return {
      desiredSize: this.desired.get(nodeGroup) ?? 0,
      minSize: config.minNodes,
      maxSize: config.maxNodes,
      instanceIds: [...this.nodes.values()].filter((n) => n.pool === config.name).map((n) => n.instanceId),
    };
  }
  async scaleOut(nodeGroup: string, desiredSize: number): Promise<void> {
    const config = this.pools.find((p) => p.nodeGroup === nodeGroup)!;
    const target = Math.min(desiredSize, config.maxNodes);
    this.grow(config, target - (this.desired.get(nodeGroup) ?? 0), this.clock());
  }
  async terminate(nodeGroup: string, instanceId: string): Promise<void> {
    const node = [...this.nodes.values()].find((n) => n.instanceId === instanceId);
    if (!node) return;
    this.nodes.delete(node.name);
    this.desired.set(nodeGroup, Math.max(0, (this.desired.get(nodeGroup) ?? 0) - 1));
    const lifetime = this.lifetimes.find((l) => l.to === undefined && l.pool === node.pool);
    if (lifetime) lifetime.to = this.clock();
    this.onNodeGone(node.name);
  }

  // ---- ScaleOutRecords ----
  async pending(pool: string): Promise<ScaleOutRequest | undefined> {
    return this.scaleOuts.get(pool);
  }
  async record(pool: string, request: ScaleOutRequest, staleBefore: number): Promise<boolean> {
    const current = this.scaleOuts.get(pool);
    if (current && current.target >= request.target && current.requestedAt >= staleBefore) return false;
    this.scaleOuts.set(pool, request);
    return true;
  }
  async clear(pool: string, request: ScaleOutRequest): Promise<void> {
    const current = this.scaleOuts.get(pool);
    if (current && current.target === request.target && current.requestedAt === request.requestedAt) {
      this.scaleOuts.delete(pool);
    }
  }

  private grow(config: NodePoolConfig, count: number, now: number): void {
    for (let i = 0; i < count; i++) {
      const name = `${config.nodeGroup}-node-${++this.serial}`;
      this.nodes.set(name, {
        name,
        pool: config.name,
        instanceId: `i-${this.serial.toString(16).padStart(17, '0')}`,
        readyAt: now + this.bootMs(config.name),
        cordoned: false,
        emptySince: undefined,
        scaleInStartedAt: undefined,
        pods: new Map(),
      });
      this.lifetimes.push({
        pool: config.name,
        from: Number.isFinite(now) ? now : this.clock(),
        to: undefined,
      });
    }
    this.desired.set(config.nodeGroup, (this.desired.get(config.nodeGroup) ?? 0) + Math.max(0, count));
  }

  private config(pool: string): NodePoolConfig {
    return this.pools.find((p) => p.name === pool)!;
  }
}
