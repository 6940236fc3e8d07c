import { formatDuration } from '../../duration.js';
import { idleMsOf, cooldownMsOf } from '../clocks.js';
import { desiredReplicas } from '../decide.js';
import { event, fields, releaseHolding } from '../effects.js';
import { holderOf, type InferenceModel } from '../../inference-model.js';
import { type ReconcilePorts } from '../ports.js';
import type { Holding } from '../view.js';
import type { ActionContext, ActionOutcome } from './context.js';
import { keepBudgeted, sizedTo } from './scale-up.js';

/**
 * Scale-to-zero after the cooldown (or for maxReplicas 0). The decision was made on the pass's first
 * read; activity is read again right before scaling, and once more after: a request that arrived in
 * between undoes the scale-down, and a warm-up that claimed the allocation meanwhile keeps it (the
 * release is fenced to the allocation read).
 */
export async function scaleToZero(
  ctx: ActionContext,
  decision: { idleMs: number; reason: 'idle timeout' | 'maxReplicas is 0' },
): Promise<ActionOutcome> {
  const { ports, model, now } = ctx;
  const idle = decision.reason === 'idle timeout';
  const before = await current(ports, model, ctx.holding!);
  if (!before) return { deployment: ctx.deployment };
  if (idle && idleMsOf(before.allocation, readyOf(ctx), now) <= cooldownMsOf(model)) {
    return { deployment: ctx.deployment }; // a request came since the pass read the pool
  }
  await ports.cluster.scaleDeployment(model, 0, now);
  const after = await current(ports, model, before);
  if (!after || after.allocation.since !== before.allocation.since) return scaledDown(ctx); // claimed: the claimer scales up
  if (idle && (after.allocation.lastActivity ?? 0) > (before.allocation.lastActivity ?? 0)) {
    await ports.cluster.scaleDeployment(sizedTo(model, after.allocation.bytes), desiredReplicas(model), now);
    ports.log.info('Scale-down undone: a request arrived during it', fields(model));
    return { deployment: ctx.deployment && { ...ctx.deployment, readyReplicas: 0, scaledUpAt: now } };
  }
  const idleFor = formatDuration(idleMsOf(after.allocation, readyOf(ctx), now));
  ports.log.info('Scaled deployment to zero replicas', {
    ...fields(model),
    reason: decision.reason,
    idleFor,
  });
  await event(
    ports,
    model,
    'Normal',
    'ScaledToZero',
    idle ? `Scaled to zero after ${idleFor} idle` : 'Scaled to zero: maxReplicas is 0',
  );
  await releaseAfterScaleDown(ctx, after, 'scaled to zero');
  return scaledDown(ctx);
}

/** A model that did not become Ready within its start deadline: its budget goes back, reason Failed. */
export async function giveUpStart(ctx: ActionContext, startingForMs: number): Promise<ActionOutcome> {
  const { ports, model, now, view } = ctx;
  const problem = view.startProblems.get(holderOf(model));
  const message =
    `did not become ready within its start deadline (${formatDuration(startingForMs)} starting)` +
    (problem ? `: ${problem}` : '') +
    '; scaled to zero and its budget released, a warm-up tries again';
  await ports.cluster.scaleDeployment(model, 0, now, message);
  ports.log.info('Scaled deployment to zero replicas', {
    ...fields(model),
    reason: 'start deadline exceeded',
    startingFor: formatDuration(startingForMs),
  });
  await event(ports, model, 'Warning', 'Failed', message);
  const after = await current(ports, model, ctx.holding!);
  if (after && after.allocation.since === ctx.holding!.allocation.since) {
    await releaseAfterScaleDown(ctx, after, 'start deadline exceeded');
  }
  return {
    deployment: ctx.deployment && { ...ctx.deployment, replicas: 0, readyReplicas: 0, startFailure: message },
  };
}

/**
 * The pool changed under running pods (admission refuses that; this is the path for an edit that got
 * past it): the model is drained and its budget in the old pool released; the next warm-up starts it in
 * the new pool, so at no point does it hold two allocations or run unbudgeted.
 */
export async function movePool(ctx: ActionContext, from: string): Promise<ActionOutcome> {
  const { ports, model, now } = ctx;
  await ports.cluster.scaleDeployment(model, 0, now);
  ports.log.info('Scaled deployment to zero replicas', {
    ...fields(model),
    reason: `node pool changed from ${from}`,
  });
  await event(
    ports,
    model,
    'Normal',
    'PoolChanged',
    `Scaled to zero to move from pool ${from}; a warm-up starts it in the new pool`,
  );
  if (ctx.holding) await releaseHolding(ports, model, ctx.holding, `node pool changed from ${from}`);
  return scaledDown(ctx);
}

/** A scale-down that stopped before releasing, or budget held at zero replicas for a model that is off. */
export async function finishScaleDown(ctx: ActionContext): Promise<ActionOutcome> {
  await releaseHolding(ctx.ports, ctx.model, ctx.holding!, 'scaled to zero');
  return { deployment: ctx.deployment };
}

/** Budget held with nothing starting (no Deployment to scale, dependencies that never came) past its cooldown. */
export async function releaseHold(ctx: ActionContext, idleMs: number): Promise<ActionOutcome> {
  await releaseHolding(
    ctx.ports,
    ctx.model,
    ctx.holding!,
    `held ${formatDuration(idleMs)} with nothing starting`,
  );
  return { deployment: ctx.deployment };
}

/** Releases what the scale-down read; if a scale-up overtook it meanwhile, those pods are budgeted again. */
async function releaseAfterScaleDown(ctx: ActionContext, held: Holding, reason: string): Promise<void> {
  const { ports, model, now } = ctx;
  if (!(await releaseHolding(ports, model, held, reason))) return;
  await keepBudgeted(ports, sizedTo(model, held.allocation.bytes), held.pool, held.allocation.bytes, now);
}

/** The allocation as the ledger holds it now, if it is still the one read (same size and pool). */
async function current(
  ports: ReconcilePorts,
  model: InferenceModel,
  read: Holding,
): Promise<Holding | undefined> {
  const pool = await ports.ledger.readPool(read.pool);
  const allocation = pool.allocations.find((a) => a.holder === holderOf(model));
  return allocation && allocation.bytes === read.allocation.bytes
    ? { pool: read.pool, allocation }
    : undefined;
}

function readyOf(ctx: ActionContext): number | undefined {
  return ctx.readyAt;
}

function scaledDown(ctx: ActionContext): ActionOutcome {
  const { deployment, now } = ctx;
  return { deployment: deployment && { ...deployment, replicas: 0, readyReplicas: 0, scaledToZeroAt: now } };
}
