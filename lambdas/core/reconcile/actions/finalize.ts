import { formatQuantity } from '../../quantity.js';
import type { PoolSnapshot } from '../../ledger/ledger.js';
import { fenceOf, isWorkloadReplica } from '../../ledger/rules.js';
import { fields, releaseHolding, writeStatus } from '../effects.js';
import { FINALIZER } from '../../inference-model.js';
import { type ReconcilePorts } from '../ports.js';
import type { View } from '../view.js';
import type { ActionContext } from './context.js';

/** Deletion: drain, release (fenced), delete the Deployment, then let Kubernetes remove the model. */
export async function finalize(ctx: ActionContext): Promise<void> {
  const { ports, model, deployment, holding, now } = ctx;
  if (!model.finalizers.includes(FINALIZER)) return;
  ports.log.info('Handling InferenceModel deletion, releasing memory budget', fields(model));
  await writeStatus(
    ports,
    model,
    deployment,
    { reason: 'Terminating', message: 'releasing memory budget' },
    now,
  );
  if (deployment && deployment.replicas > 0) await ports.cluster.scaleDeployment(model, 0, now);
  if (holding) await releaseHolding(ports, model, holding, 'model deleted');
  if (deployment) await ports.cluster.deleteDeployment(model);
  await ports.cluster.removeFinalizer(model);
  ports.log.info('Finalizer removed, InferenceModel can be deleted', fields(model));
}

/** Allocations whose model is gone (a warm-up in flight gets a grace period), released fenced. */
export async function releaseOrphans(
  ports: ReconcilePorts,
  pools: PoolSnapshot[],
  view: View,
  now: number,
  graceMs: number,
): Promise<string[]> {
  const released: string[] = [];
  for (const pool of pools) {
    for (const allocation of pool.allocations) {
      // `ns/name#N` holders are workload replicas, reconciled with their workloads, not here.
      if (isWorkloadReplica(allocation.holder) || view.models.has(allocation.holder)) continue;
      if (now - allocation.since < graceMs) continue;
      const result = await ports.ledger.release({
        pool: pool.name,
        holder: allocation.holder,
        fence: fenceOf(allocation),
      });
      if (!result.released) continue;
      released.push(allocation.holder);
      const [namespace, model] = allocation.holder.split('/');
      ports.log.info('Memory budget released', {
        model,
        namespace,
        nodePool: pool.name,
        reason: 'no InferenceModel holds it',
        memory: formatQuantity(result.bytes),
      });
    }
  }
  return released;
}
