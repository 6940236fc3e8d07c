import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import type { RECONCILE_DETAIL_TYPE } from '../adapters/eventbridge-reconcile-requests.js';
import { LedgerError } from '../core/ledger/model.js';
import { validateHolder } from '../core/ledger/rules.js';
import type { NodeScalingPorts } from '../core/nodes/model.js';
import { ensureNodeCapacity } from '../core/nodes/scaler.js';
import { poolOf, type ModelRef, type ReconcilePorts } from '../core/reconcile/model.js';
import { reconcileOne } from '../core/reconcile/reconciler.js';
import { runtimeConfig, type RuntimeConfig } from '../config.js';
import { logger } from './logger.js';
import { ClusterAccess } from './wiring/cluster-access.js';
import { ledgerTable, type LedgerTable } from './wiring/ledger-table.js';
import { nodeScaling } from './wiring/node-scaling.js';

export type ReconcileEvent = EventBridgeEvent<typeof RECONCILE_DETAIL_TYPE, unknown>;

interface Wiring {
  config: RuntimeConfig;
  table: LedgerTable;
  access: ClusterAccess;
  nodeScaling: () => Promise<NodeScalingPorts | undefined>;
}

let wiring: Wiring | undefined;

function wire(): Wiring {
  const config = runtimeConfig();
  const table = ledgerTable(config);
  const access = new ClusterAccess(config);
  return { config, table, access, nodeScaling: nodeScaling(config, table, access) };
}

/**
 * Reconciles one model as soon as the admission webhook or the warm-up API announces a change, instead
 * of waiting for the next scheduled pass. A malformed event is logged and dropped: retrying it cannot help.
 */
export const handler = middy(
  async (event: ReconcileEvent): Promise<{ reconciled: string } | { rejected: string }> => {
    const ref = modelRef(event?.detail);
    if ('rejected' in ref) {
      logger.error('Rejected reconcile event', { reason: ref.rejected });
      return ref;
    }
    wiring ??= wire();
    const ports = await wiring.access.reconcilePorts(wiring.table);
    await reconcileOne(ports, ref, wiring.config.reconcile);
    await scaleOutFor(ports, await wiring.nodeScaling(), ref);
    return { reconciled: `${ref.namespace}/${ref.name}` };
  },
).use(injectLambdaContext(logger));

/**
 * A model applied with replicas was just allocated and created: its pool's node group scales out now
 * rather than at the next scheduled pass. A failure is logged; that pass asks again.
 */
async function scaleOutFor(
  ports: ReconcilePorts,
  nodeScaling: NodeScalingPorts | undefined,
  ref: ModelRef,
): Promise<void> {
  if (!nodeScaling) return;
  try {
    const model = await ports.cluster.getModel(ref);
    if (!model || !nodeScaling.pools.some((p) => p.name === poolOf(model))) return;
    await ensureNodeCapacity(nodeScaling, await ports.ledger.readPool(poolOf(model)));
  } catch (error) {
    logger.error('Node scale-out failed', {
      model: ref.name,
      namespace: ref.namespace,
      error: String(error),
    });
  }
}

/** `{namespace, name}` of an InferenceModel, checked as Kubernetes names. */
export function modelRef(detail: unknown): { namespace: string; name: string } | { rejected: string } {
  const { namespace, name } = (detail ?? {}) as Record<string, unknown>;
  if (typeof namespace !== 'string' || typeof name !== 'string') {
    return { rejected: 'detail must be {"namespace": string, "name": string}' };
  }
  try {
    validateHolder(`${namespace}/${name}`);
  } catch (error) {
    if (error instanceof LedgerError) return { rejected: error.message.replace('holder', 'model') };
    throw error;
  }
  return { namespace, name };
}
