import { formatQuantity } from '../../quantity.js';
import { desiredReplicas } from '../decide.js';
import { allocate, event, fields, releaseHolding } from '../effects.js';
import { poolOf } from '../../inference-model.js';
import type { ActionContext, ActionOutcome } from './context.js';
import { claimAndScaleUp } from './scale-up.js';

/** A warm-up (or a dependency warm-up) allocated, or claimed, and stopped before scaling up: finish it. */
export async function finishWarmUp(ctx: ActionContext): Promise<ActionOutcome> {
  const { ports, model, deployment, holding, now } = ctx;
  const replicas = desiredReplicas(model);
  const scaled = await claimAndScaleUp(ports, model, deployment!, holding!, replicas, now);
  return {
    deployment: scaled ? { ...deployment!, replicas, scaledUpAt: now, startFailure: undefined } : deployment,
  };
}

/**
 * Running pods with no allocation in their pool (a Deployment created or scaled outside the control
 * plane, or budget held in a pool the model left): allocate where they run; release any stray holding.
 */
export async function adopt(ctx: ActionContext): Promise<ActionOutcome> {
  const { ports, model, memoryBytes, now, holding } = ctx;
  const pool = poolOf(model);
  if (holding && holding.pool !== pool)
    await releaseHolding(ports, model, holding, `held in ${holding.pool}, runs in ${pool}`);
  const result = await allocate(ports, model, memoryBytes, now);
  if (result.outcome === 'insufficient') {
    ports.log.warn('Running without a memory budget allocation', {
      ...fields(model),
      memory: model.spec.memory,
      nodePool: pool,
    });
    await event(
      ports,
      model,
      'Warning',
      'RunningWithoutAllocation',
      `Running, but pool ${pool} has only ${formatQuantity(result.availableBytes)} free of the ${model.spec.memory} it needs`,
    );
  }
  return { deployment: ctx.deployment };
}

/**
 * A memory edit on a running model. The allocation never drops below what the pods were given: a grow
 * is budgeted before the Deployment says so, a shrink after. A refused grow keeps the old size and is
 * told once (one Event per refusal, not per pass); the idle clock is not restarted either way.
 */
export async function resize(ctx: ActionContext, bytes: number): Promise<ActionOutcome> {
  const { ports, model, now, deployment } = ctx;
  const { pool, allocation } = ctx.holding!;
  const shrinking = bytes < allocation.bytes;
  if (shrinking)
    await ports.cluster.annotateDeployment(model, { memory: model.spec.memory, resizeRefusedFor: null });
  const result = await ports.ledger.resize({ pool, holder: allocation.holder, bytes, now });
  if (result.outcome === 'insufficient') {
    if (deployment?.resizeRefusedFor !== model.spec.memory) {
      await ports.cluster.annotateDeployment(model, { resizeRefusedFor: model.spec.memory });
      await event(
        ports,
        model,
        'Warning',
        'ResizeRefused',
        `Cannot grow to ${model.spec.memory}: pool ${pool} has ${formatQuantity(result.availableBytes)} free; keeping ${formatQuantity(allocation.bytes)}`,
      );
    }
    return { deployment };
  }
  if (!shrinking)
    await ports.cluster.annotateDeployment(model, { memory: model.spec.memory, resizeRefusedFor: null });
  ports.log.info('Memory budget allocated', {
    ...fields(model),
    memory: model.spec.memory,
    nodePool: pool,
    resizedFrom: formatQuantity(result.previousBytes),
  });
  await event(
    ports,
    model,
    'Normal',
    'Resized',
    `Allocation resized from ${formatQuantity(result.previousBytes)} to ${model.spec.memory}`,
  );
  return {
    deployment: deployment && {
      ...deployment,
      memoryAnnotation: model.spec.memory,
      resizeRefusedFor: undefined,
    },
  };
}

/** An edit of the image, resources or nodeSelector: the new template goes out and Kubernetes rolls the pods. */
export async function rollOut(ctx: ActionContext): Promise<ActionOutcome> {
  const { ports, model, deployment } = ctx;
  await ports.cluster.rollOut(model, ctx.now);
  ports.log.info('Rolled out the edited pod template', {
    ...fields(model),
    image: model.spec.containerImage,
  });
  if ((deployment?.replicas ?? 0) > 0) {
    await event(
      ports,
      model,
      'Normal',
      'RolledOut',
      `Rolling out the edited spec (image ${model.spec.containerImage})`,
    );
  }
  // Recreate: the old pods stop before the new ones start, so the model is not Ready until they are,
  // and its idle clock starts again when they become Ready.
  return { deployment: deployment && { ...deployment, readyReplicas: 0, scaledUpAt: ctx.now } };
}
