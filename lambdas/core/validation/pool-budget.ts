// The ledger's rules for the one pool an InferenceModel draws from: the webhook's second layer, after
// the fields. Pure: the caller reads the pool.
import { DEFAULT_POOL, POOL_LABEL } from '../inference-model.js';
import { isObject } from '../json.js';
import { LedgerError, type PoolSnapshot } from '../ledger/ledger.js';
import { validatePoolName } from '../ledger/rules.js';
import { formatQuantity } from '../quantity.js';
import { field, warning } from './field-errors.js';

/** What a structurally valid model asks of its pool. */
export interface ModelDemand {
  readonly namespace: string;
  /** Unset only for a create by `generateName` before the API server has picked the name. */
  readonly name: string | undefined;
  readonly pool: string;
  /** The pool is `default` because `spec.nodeSelector` has no `inference-pool` label. */
  readonly poolFromDefault: boolean;
  readonly memory: string;
  readonly memoryBytes: number;
  readonly maxReplicas: number;
}

export interface BudgetCheck {
  readonly messages: string[];
  readonly warnings: string[];
}

/**
 * The ledger's rules for the model's pool (`undefined`: the ledger has no such pool). Denied when the
 * pool is unknown or the model could never fit in it; warned when it does not fit in what is free now.
 */
export function checkBudget(demand: ModelDemand, pool: PoolSnapshot | undefined): BudgetCheck {
  if (!pool) {
    const where = demand.poolFromDefault
      ? `spec.nodeSelector has no ${POOL_LABEL}, so the model uses pool "${DEFAULT_POOL}", which`
      : `node pool "${demand.pool}" (spec.nodeSelector.${POOL_LABEL})`;
    return {
      messages: [
        `${where} has no budget in the control plane's ledger: set spec.nodeSelector.${POOL_LABEL} ` +
          `to a pool the control plane defines, or define "${demand.pool}" first`,
      ],
      warnings: [],
    };
  }
  const replicas = Math.max(1, demand.maxReplicas);
  const needed = demand.memoryBytes * replicas;
  const asked = replicas === 1 ? `memory ${demand.memory}` : `memory ${demand.memory} x ${replicas} replicas`;
  if (needed > pool.totalBytes) {
    return {
      messages: [
        `${asked} is larger than pool ${pool.name}'s total budget of ${formatQuantity(pool.totalBytes)}: ` +
          'lower spec.memory or grow the pool',
      ],
      warnings: [],
    };
  }
  const warnings: string[] = [];
  if (demand.memoryBytes > pool.bytesPerNode) {
    warnings.push(
      warning(
        `memory ${demand.memory} is more than one node of pool ${pool.name} has ` +
          `(${formatQuantity(pool.bytesPerNode)}); a model never spans nodes, so it cannot start`,
      ),
    );
  }
  // What the model holds already (an update) is room it keeps.
  const free = pool.availableBytes + heldBy(demand, pool);
  if (needed > free) {
    warnings.push(
      warning(
        `only ${formatQuantity(free)} of pool ${pool.name} is free now (needs ${formatQuantity(needed)}); ` +
          'the model will wait (InsufficientMemory) until others scale to zero',
      ),
    );
  }
  return { messages: [], warnings };
}

/**
 * An update that moves the model to another pool (`from` is the old spec's) while it holds budget in the
 * old one is denied: its pods run there on that budget, and moving them would leave them unbudgeted or
 * the budget behind. At zero replicas the model holds nothing and may move. `fromPool` undefined: the
 * ledger has no such pool, so nothing is held there.
 */
export function checkPoolMove(
  demand: ModelDemand,
  from: string,
  fromPool: PoolSnapshot | undefined,
): string[] {
  if (from === demand.pool || !fromPool) return [];
  const held = heldBy(demand, fromPool);
  if (held === 0) return [];
  return [
    `spec.nodeSelector.${POOL_LABEL} cannot change from ${from} to ${demand.pool} while ` +
      `${demand.namespace}/${demand.name} holds ${formatQuantity(held)} of ${from} (running or starting): ` +
      'scale it to zero first (maxReplicas: 0, or let it idle out), then change the pool',
  ];
}

/**
 * The pool a stored object's spec names: its `inference-pool` label, else `default`; undefined when the
 * label is no valid pool name (then the model never held budget anywhere by it).
 */
export function poolOfObject(object: unknown): string | undefined {
  const spec = isObject(object) ? field(object, 'spec') : undefined;
  const selector = isObject(spec) ? field(spec, 'nodeSelector') : undefined;
  const pool = isObject(selector) ? field(selector, POOL_LABEL) : undefined;
  if (pool === undefined || pool === null) return DEFAULT_POOL;
  try {
    validatePoolName(pool as string);
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
    return undefined;
  }
  return pool as string;
}

/** Bytes the model (and its MoE replicas, `holder#n`) holds in the pool. */
function heldBy(demand: ModelDemand, pool: PoolSnapshot): number {
  if (demand.name === undefined) return 0;
  const holder = `${demand.namespace}/${demand.name}`;
  return pool.allocations
    .filter((a) => a.holder === holder || a.holder.startsWith(`${holder}#`))
    .reduce((sum, a) => sum + a.bytes, 0);
}
