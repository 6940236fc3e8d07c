import { LedgerError } from '../ledger/ledger.js';
import { validateHolder } from '../ledger/rules.js';
import type { NodeScalingPorts } from '../nodes/ports.js';
import { ensureNodeCapacity } from '../nodes/scaler.js';
import { poolOf, type ModelRef } from '../inference-model.js';
import type { ReconcilePorts } from './ports.js';
import { reconcileOne, type ReconcileOptions } from './reconciler.js';

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

/**
 * One model, reconciled as soon as the admission webhook or the warm-up API announces a change. A model
 * applied with replicas was just allocated and created: its pool's node group scales out now rather than
 * at the next scheduled pass. A failed scale-out is logged; that pass asks again.
 */
export async function reconcileOnRequest(
  ports: ReconcilePorts,
  nodeScalingPorts: () => Promise<NodeScalingPorts | undefined>,
  ref: ModelRef,
  options: ReconcileOptions,
): Promise<void> {
  await reconcileOne(ports, ref, options);
  const nodeScaling = await nodeScalingPorts();
  if (!nodeScaling) return;
  try {
    const model = await ports.cluster.getModel(ref);
    if (!model || !nodeScaling.pools.some((p) => p.name === poolOf(model))) return;
    await ensureNodeCapacity(nodeScaling, await ports.ledger.readPool(poolOf(model)));
  } catch (error) {
    ports.log.error('Node scale-out failed', {
      model: ref.name,
      namespace: ref.namespace,
      error: String(error),
    });
  }
}
