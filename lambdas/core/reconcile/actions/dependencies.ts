import { desiredReplicas } from '../decide.js';
import { allocate, reportInsufficient } from '../effects.js';
import { sizeMismatchAsHeld } from '../../ledger/outcomes.js';
import { holderOf, poolOf, type InferenceModel } from '../../inference-model.js';
import { parseQuantity } from '../../quantity.js';
import { isReady, resolveDependency } from '../view.js';
import type { ActionContext, ActionOutcome } from './context.js';
import { claimAndScaleUp } from './scale-up.js';

/** Waits for dependencies, warming up the ones that are cold: chains start in order, deepest first. */
export async function awaitDependencies(ctx: ActionContext, notReady: string[]): Promise<ActionOutcome> {
  const { view, model } = ctx;
  const missing = notReady.filter((name) => !resolveDependency(view.models.values(), model.namespace, name));
  if (missing.length > 0) {
    return {
      deployment: ctx.deployment,
      hold: { reason: 'Pending', message: `dependencies not found: ${missing.join(', ')}` },
    };
  }
  for (const name of notReady) {
    const dependency = resolveDependency(view.models.values(), model.namespace, name)!;
    await warmDependency(ctx, dependency);
  }
  return {
    deployment: ctx.deployment,
    hold: { reason: 'Pending', message: `waiting for dependencies to be ready: ${notReady.join(', ')}` },
  };
}

/**
 * The same allocate-then-scale as a warm-up, for a dependency a model waits for. The dependency is
 * scaled only when its own dependencies are Ready (as far as this view knows); otherwise its budget
 * marks the intent, and its own reconcile warms the next link of the chain.
 */
async function warmDependency(ctx: ActionContext, dependency: InferenceModel): Promise<void> {
  const { ports, view, now } = ctx;
  const deployment = view.deployments.get(holderOf(dependency));
  if (!deployment || deployment.replicas > 0 || !view.pools.has(poolOf(dependency))) return;
  if (desiredReplicas(dependency) === 0) return;
  const result = await allocate(ports, dependency, parseQuantity(dependency.spec.memory), now).catch(
    sizeMismatchAsHeld,
  );
  if (result === 'held-at-another-size') return; // its own reconcile settles the size first
  if (result.outcome === 'insufficient') {
    await reportInsufficient(
      ports,
      dependency,
      result,
      'Insufficient memory budget, cannot create deployment',
    );
    return;
  }
  const ownDependenciesReady = dependency.spec.dependencies.every((name) => {
    const link = resolveDependency(view.models.values(), dependency.namespace, name);
    return link !== undefined && isReady(view.deployments.get(holderOf(link)));
  });
  const allocation = result.pool.allocations.find((a) => a.holder === holderOf(dependency));
  if (!ownDependenciesReady || !allocation) return;
  const held = { pool: poolOf(dependency), allocation };
  await claimAndScaleUp(ports, dependency, deployment, held, desiredReplicas(dependency), now, 'dependency');
}
