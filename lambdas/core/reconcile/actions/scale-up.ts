import { fenceOf } from '../../ledger/rules.js';
import type { Allocation } from '../../ledger/model.js';
import { formatQuantity } from '../../quantity.js';
import { fields } from '../effects.js';
import { holderOf, type InferenceModel, type ManagedDeployment, type ReconcilePorts } from '../model.js';
import { templateDrift } from '../decide.js';

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
  const sized = { ...model, spec: { ...model.spec, memory: formatQuantity(held.allocation.bytes) } };
  // A template edited while the model was at zero goes out now, before any pod starts on the old one.
  if (templateDrift(model, deployment)) await ports.cluster.rollOut(model);
  await ports.cluster.scaleDeployment(sized, replicas, now);
  ports.log.info('Triggered scale-up for deployment', {
    ...fields(model),
    deployment: model.name,
    ...(reason && { reason }),
  });
  return true;
}
