import { sizeMismatchAsHeld } from '../../ledger/outcomes.js';
import { fenceOf } from '../../ledger/rules.js';
import type { Allocation } from '../../ledger/ledger.js';
import { formatQuantity } from '../../quantity.js';
import { fields } from '../effects.js';
import { holderOf, type InferenceModel } from '../../inference-model.js';
import { type ManagedDeployment, type ReconcilePorts } from '../ports.js';

/**
 * Scales a model up from zero on an allocation read earlier. The allocation is claimed first: a
 * scale-down racing this one releases only the allocation it read, and the claim changed it, so the
 * pods started here are never left unbudgeted. The pods are given the allocation's size (a memory edit
 * since then is a resize for the next pass). False when the claim was lost: the caller stops.
 */
export async function claimAndScaleUp(
  ports: ReconcilePorts,
  model: InferenceModel,
  deployment: ManagedDeployment,
  held: { pool: string; allocation: Allocation },
  replicas: number,
  now: number,
  reason?: string,
): Promise<boolean> {
  const claim = await ports.ledger.claim({
    pool: held.pool,
    holder: holderOf(model),
    fence: fenceOf(held.allocation),
    now,
  });
  if (!claim.claimed) return false;
  const sized = sizedTo(model, held.allocation.bytes);
  await ports.cluster.scaleDeployment(sized, replicas, now);
  ports.log.info('Triggered scale-up for deployment', {
    ...fields(model),
    deployment: model.name,
    ...(reason && { reason }),
  });
  await keepBudgeted(ports, sized, held.pool, held.allocation.bytes, now);
  return true;
}

/**
 * After a scale-up, or after a release that a scale-up may have overtaken: pods that run must hold
 * budget. A scale-down that read the allocation before it was claimed may have released it while the
 * pods started; then it is taken again, or, when the pool has no room now, the pods go back to zero.
 */
export async function keepBudgeted(
  ports: ReconcilePorts,
  model: InferenceModel,
  pool: string,
  bytes: number,
  now: number,
): Promise<void> {
  const held = (await ports.ledger.readPool(pool)).allocations.some((a) => a.holder === holderOf(model));
  if (held) return;
  const deployment = await ports.cluster.getManagedDeployment(model);
  if (!deployment || deployment.replicas === 0) return;
  const result = await ports.ledger
    .allocate({ pool, holder: holderOf(model), bytes, now })
    .catch(sizeMismatchAsHeld);
  if (result !== 'held-at-another-size' && result.outcome === 'insufficient') {
    await ports.cluster.scaleDeployment(model, 0, now);
    ports.log.warn('Scaled deployment to zero replicas', {
      ...fields(model),
      reason: 'its budget was released by a concurrent scale-down and the pool has no room now',
    });
  }
}

/** The model as its pods are given it: the allocation's size, which a memory edit resizes later. */
export function sizedTo(model: InferenceModel, bytes: number): InferenceModel {
  return { ...model, spec: { ...model.spec, memory: formatQuantity(bytes) } };
}
