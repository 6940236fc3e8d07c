import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Ledger } from '../lambdas/core/ledger/ledger.js';
import {
  NodePoolConfigError,
  parseNodePools,
  poolDefinition,
  type NodePoolConfig,
} from '../lambdas/core/nodes/node-pools.js';
import { createGpuNode } from '../services/gpu-nodes.js';

/**
 * A pool as the CDK app's `pools` setting gives it (docs/node-pools.md), and what its fake nodes look
 * like. Local mode has no node scaler: it creates `maxNodes` nodes, and the budget is theirs, as the
 * Lambdas' budget is the node group at its maximum size.
 */
export interface LocalPool extends NodePoolConfig {
  gpusPerNode: number;
  /** The `nvidia.com/gpu.product` label, as GPU feature discovery sets it. */
  gpuProduct: string;
}

/** The two pools `examples/` uses: A100 nodes for large models, L4 nodes for the rest. */
const DEFAULT_POOLS = JSON.stringify([
  {
    name: 'gpu-a100',
    nodeGroup: 'gpu-a100',
    gpuMemoryPerNode: '320Gi',
    minNodes: 2,
    maxNodes: 2,
    gpusPerNode: 4,
    gpuProduct: 'NVIDIA-A100-SXM4-80GB',
  },
  {
    name: 'default',
    nodeGroup: 'default',
    gpuMemoryPerNode: '96Gi',
    minNodes: 1,
    maxNodes: 1,
    gpusPerNode: 4,
    gpuProduct: 'NVIDIA-L4',
  },
]);

/** Beyond the CDK shape: how the fake nodes are cut, which only local mode needs. */
const NODE_FIELDS = ['gpusPerNode', 'gpuProduct'] as const;
const MAX_GPUS_PER_NODE = 16;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export class LocalPoolsError extends Error {
  override readonly name = 'LocalPoolsError';
}

/**
 * `LOCAL_POOLS`: a JSON array in the CDK `pools` shape (a cdk.json `pools` list works as it is), or the
 * path of a file holding one; unset, the two example pools. Each entry may add `gpusPerNode` (default 1)
 * and `gpuProduct` (default `NVIDIA-GPU`). Checked by the parser the Lambdas apply to `NODE_POOLS`.
 */
export function localPools(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LocalPool[] {
  const setting = env.LOCAL_POOLS?.trim();
  if (!setting) return parse(DEFAULT_POOLS, 'the default pools');
  if (setting.startsWith('[') || setting.startsWith('{')) return parse(setting, 'LOCAL_POOLS');
  const path = isAbsolute(setting) ? setting : resolve(cwd, setting);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LocalPoolsError(
      `LOCAL_POOLS must be a JSON array of node pools or the path of a file holding one; cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  return parse(text, `LOCAL_POOLS (${path})`);
}

function parse(text: string, setting: string): LocalPool[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LocalPoolsError(`${setting} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new LocalPoolsError(`${setting} must be a non-empty JSON array of node pools`);
  }
  const nodes = raw.map((entry: unknown, index) => nodeFields(entry, `${setting}[${index}]`));
  // The CDK fields go through the Lambdas' own parser, so local mode refuses what a deployment would.
  const cdkShape = raw.map((entry: unknown) =>
    typeof entry === 'object' && entry !== null && !Array.isArray(entry)
      ? Object.fromEntries(Object.entries(entry).filter(([key]) => !NODE_FIELDS.includes(key as never)))
      : entry,
  );
  let pools: NodePoolConfig[];
  try {
    pools = parseNodePools(JSON.stringify(cdkShape), setting);
  } catch (error) {
    if (error instanceof NodePoolConfigError) throw new LocalPoolsError(error.message);
    throw error;
  }
  return pools.map((pool, index) => {
    const local = { ...pool, ...nodes[index]! };
    // GPU feature discovery publishes each GPU's memory in whole MiB.
    if (!Number.isInteger(local.bytesPerNode / local.gpusPerNode / 2 ** 20)) {
      throw new LocalPoolsError(
        `${setting}[${index}].gpuMemoryPerNode must split into ${local.gpusPerNode} GPUs of whole MiB`,
      );
    }
    return local;
  });
}

function nodeFields(entry: unknown, where: string): Pick<LocalPool, 'gpusPerNode' | 'gpuProduct'> {
  const record = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
  const { gpusPerNode = 1, gpuProduct = 'NVIDIA-GPU' } = record;
  if (
    !Number.isInteger(gpusPerNode) ||
    (gpusPerNode as number) < 1 ||
    (gpusPerNode as number) > MAX_GPUS_PER_NODE
  ) {
    throw new LocalPoolsError(
      `${where}.gpusPerNode must be a whole number from 1 to ${MAX_GPUS_PER_NODE}, got ${JSON.stringify(gpusPerNode)}`,
    );
  }
  if (typeof gpuProduct !== 'string' || !LABEL_VALUE.test(gpuProduct)) {
    throw new LocalPoolsError(
      `${where}.gpuProduct must be a Kubernetes label value (e.g. NVIDIA-L4), got ${JSON.stringify(gpuProduct)}`,
    );
  }
  return { gpusPerNode: gpusPerNode as number, gpuProduct };
}

/**
 * Each pool's budget is all of its nodes' GPU memory. Defining a pool that already exists (a persisted
 * ledger) keeps its allocations; the reconciler then settles them against the cluster.
 */
export async function definePools(ledger: Ledger, pools: readonly LocalPool[]): Promise<void> {
  for (const pool of pools) await ledger.definePool(poolDefinition(pool));
}

/** KWOK GPU nodes labelled `inference-pool=<pool>`, named `<pool>-<i>`; waits until each is schedulable. */
export async function createPoolNodes(kubeconfig: string, pool: LocalPool): Promise<void> {
  for (let i = 0; i < pool.maxNodes; i++) {
    await createGpuNode(kubeconfig, {
      name: `${pool.name}-${i}`,
      pool: pool.name,
      gpus: pool.gpusPerNode,
      gpuMemoryGi: pool.bytesPerNode / pool.gpusPerNode / 2 ** 30,
      product: pool.gpuProduct,
    });
  }
}
