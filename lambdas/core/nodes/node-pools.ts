import type { PoolDefinition } from '../ledger/ledger.js';
import { printable, validatePoolDefinition } from '../ledger/rules.js';
import { parseQuantity } from '../quantity.js';

/**
 * A GPU node pool as written in the CDK context's `pools` and passed to the Lambdas as one entry of
 * `NODE_POOLS` (docs/node-pools.md); `parseNodePools` reads it into a NodePoolConfig.
 */
export interface NodePoolSetting {
  /** The `inference-pool` node label value and the ledger's pool name. */
  name: string;
  nodeGroup: string;
  /** GPU memory of one node, a Kubernetes quantity such as `320Gi`. */
  gpuMemoryPerNode: string;
  minNodes: number;
  maxNodes: number;
  /** For showback's cost (docs/metrics.md): the instance type's default price, or `pricePerNodeHour`. */
  instanceType?: string;
  pricePerNodeHour?: number;
}

/** One GPU node pool and the EKS managed node group behind it, as the `NODE_POOLS` setting names it. */
export interface NodePoolConfig {
  readonly name: string;
  readonly nodeGroup: string;
  /** GPU memory of one node, in bytes: a model never spans nodes. */
  readonly bytesPerNode: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  /** The EC2 instance type of the node group, for its default price (lambdas/core/economics/prices.ts). */
  readonly instanceType?: string;
  /** What one node costs per hour (USD); wins over the instance type's default price. */
  readonly pricePerNodeHour?: number;
}

export class NodePoolConfigError extends Error {
  override readonly name = 'NodePoolConfigError';
}

const FIELDS = ['name', 'nodeGroup', 'gpuMemoryPerNode', 'minNodes', 'maxNodes'] as const;
/** For showback and the simulator's cost (docs/simulate.md); the budget does not depend on them. */
const OPTIONAL_FIELDS = ['instanceType', 'pricePerNodeHour'] as const;
/** No GPU instance costs this much an hour; a larger price is a typo (cents, or a monthly figure). */
const MAX_PRICE_PER_NODE_HOUR = 10_000;
/** EKS caps a managed node group at this many nodes. */
const MAX_NODES_PER_GROUP = 1000;

/**
 * `NODE_POOLS`: a JSON array of `{name, nodeGroup, gpuMemoryPerNode, minNodes, maxNodes}`. Every error
 * names the setting, the entry and the field, so a bad deployment fails at cold start with a fix in sight.
 */
export function parseNodePools(text: string, setting = 'NODE_POOLS'): NodePoolConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new NodePoolConfigError(`${setting} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new NodePoolConfigError(`${setting} must be a JSON array of node pools`);
  const pools = raw.map((entry, index) => parseEntry(entry, `${setting}[${index}]`));
  for (const key of ['name', 'nodeGroup'] as const) {
    const seen = new Set<string>();
    pools.forEach((pool, index) => {
      if (seen.has(pool[key])) {
        throw new NodePoolConfigError(`${setting}[${index}].${key}: "${pool[key]}" is used by another pool`);
      }
      seen.add(pool[key]);
    });
  }
  return pools;
}

/** The pool's budget in the ledger: what the node group holds at its maximum size. */
export function poolDefinition(pool: NodePoolConfig): PoolDefinition {
  return {
    name: pool.name,
    totalBytes: pool.maxNodes * pool.bytesPerNode,
    bytesPerNode: pool.bytesPerNode,
    nodeGroup: pool.nodeGroup,
  };
}

function parseEntry(entry: unknown, where: string): NodePoolConfig {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new NodePoolConfigError(`${where} must be an object with ${FIELDS.join(', ')}`);
  }
  const record = entry as Record<string, unknown>;
  const known: readonly string[] = [...FIELDS, ...OPTIONAL_FIELDS];
  const unknown = Object.keys(record).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new NodePoolConfigError(
      `${where}.${printable(unknown[0])} is not a node pool field (expected ${known.join(', ')})`,
    );
  }
  const name = text(record, 'name', where);
  const nodeGroup = text(record, 'nodeGroup', where);
  const memory = text(record, 'gpuMemoryPerNode', where);
  let bytesPerNode: number;
  try {
    bytesPerNode = parseQuantity(memory);
  } catch (error) {
    throw new NodePoolConfigError(`${where}.gpuMemoryPerNode: ${(error as Error).message}`);
  }
  if (bytesPerNode <= 0) throw new NodePoolConfigError(`${where}.gpuMemoryPerNode must be more than 0`);
  const minNodes = count(record, 'minNodes', where);
  const maxNodes = count(record, 'maxNodes', where);
  if (maxNodes < 1) throw new NodePoolConfigError(`${where}.maxNodes must be at least 1`);
  if (minNodes > maxNodes) {
    throw new NodePoolConfigError(`${where}.minNodes (${minNodes}) is more than maxNodes (${maxNodes})`);
  }
  const pool: NodePoolConfig = {
    name,
    nodeGroup,
    bytesPerNode,
    minNodes,
    maxNodes,
    ...(record.instanceType !== undefined && { instanceType: text(record, 'instanceType', where) }),
    ...(record.pricePerNodeHour !== undefined && { pricePerNodeHour: price(record, where) }),
  };
  const definition = poolDefinition(pool);
  if (!Number.isSafeInteger(definition.totalBytes)) {
    throw new NodePoolConfigError(`${where}: maxNodes x gpuMemoryPerNode is too large`);
  }
  try {
    validatePoolDefinition(definition);
  } catch (error) {
    const field = (error as Error).message.includes('node group') ? 'nodeGroup' : 'name';
    throw new NodePoolConfigError(`${where}.${field}: ${(error as Error).message}`);
  }
  return pool;
}

function text(record: Record<string, unknown>, field: string, where: string): string {
  const value = record[field];
  if (typeof value !== 'string' || value === '') {
    throw new NodePoolConfigError(`${where}.${field} must be a non-empty string, got ${printable(value)}`);
  }
  return value;
}

function price(record: Record<string, unknown>, where: string): number {
  const value = record.pricePerNodeHour;
  if (typeof value !== 'number' || !(value >= 0) || value > MAX_PRICE_PER_NODE_HOUR) {
    throw new NodePoolConfigError(
      `${where}.pricePerNodeHour must be a number of US dollars from 0 to ${MAX_PRICE_PER_NODE_HOUR}, got ${printable(value)}`,
    );
  }
  return value;
}

function count(record: Record<string, unknown>, field: string, where: string): number {
  const value = record[field];
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_NODES_PER_GROUP) {
    throw new NodePoolConfigError(
      `${where}.${field} must be a whole number from 0 to ${MAX_NODES_PER_GROUP}, got ${printable(value)}`,
    );
  }
  return value as number;
}
