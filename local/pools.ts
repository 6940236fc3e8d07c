import type { Ledger } from '../lambdas/core/ledger/model.js';
import { parseQuantity } from '../lambdas/core/quantity.js';
import { createGpuNode } from '../services/gpu-nodes.js';

export interface LocalPool {
  name: string;
  nodes: number;
  gpusPerNode: number;
  /** Memory of one GPU. */
  gpuMemory: string;
  /** The `nvidia.com/gpu.product` label, as GPU feature discovery sets it. */
  product: string;
}

/** The two pools `examples/` uses: A100 nodes for large models, L4 nodes for the rest. */
export const LOCAL_POOLS: readonly LocalPool[] = [
  { name: 'gpu-a100', nodes: 2, gpusPerNode: 4, gpuMemory: '80Gi', product: 'NVIDIA-A100-SXM4-80GB' },
  { name: 'default', nodes: 1, gpusPerNode: 4, gpuMemory: '24Gi', product: 'NVIDIA-L4' },
];

export function bytesPerNode(pool: LocalPool): number {
  return pool.gpusPerNode * parseQuantity(pool.gpuMemory);
}

/**
 * Each pool's budget is all of its nodes' GPU memory. Defining a pool that already exists (a persisted
 * ledger) keeps its allocations; the reconciler then settles them against the cluster.
 */
export async function definePools(ledger: Ledger, pools: readonly LocalPool[]): Promise<void> {
  for (const pool of pools) {
    await ledger.definePool({
      name: pool.name,
      totalBytes: pool.nodes * bytesPerNode(pool),
      bytesPerNode: bytesPerNode(pool),
      nodeGroup: pool.name,
    });
  }
}

/** KWOK GPU nodes labelled `inference-pool=<pool>`, named `<pool>-<i>`; waits until each is schedulable. */
export async function createPoolNodes(kubeconfig: string, pool: LocalPool): Promise<void> {
  for (let i = 0; i < pool.nodes; i++) {
    await createGpuNode(kubeconfig, {
      name: `${pool.name}-${i}`,
      pool: pool.name,
      gpus: pool.gpusPerNode,
      gpuMemoryGi: parseQuantity(pool.gpuMemory) / 2 ** 30,
      product: pool.product,
    });
  }
}
