import { LedgerError, type PoolSnapshot } from '../ledger/ledger.js';
import { parseQuantity } from '../quantity.js';
import { adopt, finishWarmUp, resize, rollOut } from './actions/run.js';
import type { ActionContext, ActionOutcome, ReconcileOptions } from './actions/context.js';
import { createDeployment } from './actions/create.js';
import { awaitDependencies } from './actions/dependencies.js';
import { finalize, releaseOrphans } from './actions/finalize.js';
import { finishScaleDown, giveUpStart, movePool, releaseHold, scaleToZero } from './actions/scale-down.js';
import { readyAt, startDeadlineMsOf } from './clocks.js';
import { decide, type Decision } from './decide.js';
import { fields, messageOf, writeStatus } from './effects.js';
import { FINALIZER, holderOf, poolOf, type InferenceModel, type ModelRef } from '../inference-model.js';
import { type ManagedDeployment, type ReconcilePorts } from './ports.js';
import type { Hold } from './status.js';
import {
  buildView,
  isReady,
  isStarting,
  ownsTemplate,
  podPool,
  resolveDependency,
  type View,
} from './view.js';

export type { ReconcileOptions } from './actions/context.js';
export { resolveDependency } from './view.js';

export interface PassReport {
  models: number;
  errors: { model: string; message: string }[];
  orphansReleased: string[];
  /** What the pass listed at its start, for the metrics published after it. */
  observed: { models: InferenceModel[]; deployments: ManagedDeployment[] };
}

const MODELS_IN_FLIGHT = 8;

/** The scheduled pass: one list per kind, then every model, then allocations left without a model. */
export async function reconcileAll(ports: ReconcilePorts, options: ReconcileOptions): Promise<PassReport> {
  const now = ports.clock();
  const [models, deployments, pools] = await Promise.all([
    ports.cluster.listModels(),
    ports.cluster.listManagedDeployments(),
    ports.ledger.listPools(),
  ]);
  // One list call, only when some model is starting: what keeps it from being ready, in the cluster's words.
  const problems = deployments.some(isStarting) ? await startProblems(ports) : new Map<string, string>();
  const view = buildView(models, deployments, pools, true, problems);
  const report: PassReport = {
    models: models.length,
    errors: [],
    orphansReleased: [],
    observed: { models, deployments },
  };
  // Models are independent (the ledger serializes what they share), so a few go at once: a pass over
  // 1,000 models is bound by API round trips, not by work.
  let next = 0;
  const worker = async () => {
    for (let model = models[next++]; model; model = models[next++]) {
      try {
        await reconcileModel(ports, view, model, now, options);
      } catch (error) {
        report.errors.push({ model: holderOf(model), message: messageOf(error) });
        ports.log.error('Reconcile failed', { ...fields(model), error: messageOf(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: MODELS_IN_FLIGHT }, worker));
  report.orphansReleased = await releaseOrphans(ports, pools, view, now, options.orphanGraceMs);
  return report;
}

/** The event-driven reconcile of one model (admission webhook, warm-up): a few GETs, no list. */
export async function reconcileOne(
  ports: ReconcilePorts,
  ref: ModelRef,
  options: ReconcileOptions,
): Promise<void> {
  const now = ports.clock();
  const model = await ports.cluster.getModel(ref);
  if (!model) return; // gone: the next scheduled pass releases what it held after the grace period
  // Dependencies named by object name are single GETs; one named by modelName needs the namespace's list.
  let dependencies = (
    await Promise.all(
      model.spec.dependencies.map((name) => ports.cluster.getModel({ namespace: ref.namespace, name })),
    )
  ).filter((d): d is InferenceModel => d !== undefined);
  if (dependencies.length < model.spec.dependencies.length) {
    const all = await ports.cluster.listModels();
    dependencies = model.spec.dependencies.flatMap((name) => {
      const found = resolveDependency(all, model.namespace, name);
      return found ? [found] : [];
    });
  }
  const deployments = (
    await Promise.all([model, ...dependencies].map((m) => ports.cluster.getManagedDeployment(m)))
  ).filter((d): d is ManagedDeployment => d !== undefined);
  const own = deployments.find((d) => d.name === model.name && d.namespace === model.namespace);
  // The pool its pods run in, when that is not the spec's (an edit moved it): what it holds may be there.
  const poolNames = new Set([poolOf(model), ...(own && ownsTemplate(model) ? [podPool(model, own)] : [])]);
  const [pools, problems] = await Promise.all([
    Promise.all([...poolNames].map((name) => ports.ledger.readPool(name).catch(unknownPoolAsMissing))),
    own && isStarting(own) ? startProblems(ports, model) : Promise.resolve(new Map<string, string>()),
  ]);
  const view = buildView(
    [model, ...dependencies],
    deployments,
    pools.filter((p): p is PoolSnapshot => p !== undefined),
    false,
    problems,
  );
  await reconcileModel(ports, view, model, now, options);
}

async function reconcileModel(
  ports: ReconcilePorts,
  view: View,
  model: InferenceModel,
  now: number,
  options: ReconcileOptions,
): Promise<void> {
  const key = holderOf(model);
  const deployment = view.deployments.get(key);
  const ctx: ActionContext = {
    ports,
    view,
    model,
    deployment,
    holding: view.holdings.get(key),
    memoryBytes: 0,
    readyAt: readyAt(model, deployment, now),
    now,
  };
  if (model.deleting) return finalize(ctx);
  if (!model.finalizers.includes(FINALIZER)) await ports.cluster.addFinalizer(model);

  const pool = poolOf(model);
  if (!view.pools.has(pool)) {
    const message = `node pool "${pool}" has no budget: define it in the control plane's configuration`;
    return writeStatus(ports, model, deployment, { reason: 'Pending', message }, now);
  }
  ctx.memoryBytes = parseQuantity(model.spec.memory);
  const dependenciesNotReady = model.spec.dependencies.filter((name) => {
    const dependency = resolveDependency(view.models.values(), model.namespace, name);
    return !dependency || !isReady(view.deployments.get(holderOf(dependency)));
  });
  const decision = decide({
    model,
    memoryBytes: ctx.memoryBytes,
    deployment,
    holding: ctx.holding,
    dependenciesNotReady,
    mayIdleOut: view.idleDecisions && !view.neededByRunningModels.has(key),
    readyAt: ctx.readyAt,
    startDeadlineMs: startDeadlineMsOf(model, options.startDeadlineMs),
    now,
  });
  const outcome = await act(ctx, decision);
  await writeStatus(
    ports,
    model,
    outcome.deployment,
    outcome.hold ?? startingHold(ctx, outcome.deployment),
    now,
  );
}

/** One module per kind of action, found by the decision's name. */
function act(ctx: ActionContext, decision: Decision): Promise<ActionOutcome> {
  switch (decision.kind) {
    case 'create':
      return createDeployment(ctx, decision.replicas);
    case 'await-deployment':
      return Promise.resolve({
        deployment: ctx.deployment,
        hold: {
          reason: 'Pending',
          message: `spec.containerImage is empty, so the control plane waits for a Deployment named ${ctx.model.name} to manage`,
        },
      });
    case 'await-dependencies':
      return awaitDependencies(ctx, decision.notReady);
    case 'release-hold':
      return releaseHold(ctx, decision.idleMs);
    case 'scale-to-zero':
      return scaleToZero(ctx, decision);
    case 'give-up-start':
      return giveUpStart(ctx, decision.startingForMs);
    case 'move-pool':
      return movePool(ctx, decision.from);
    case 'finish-scale-down':
      return finishScaleDown(ctx);
    case 'finish-warm-up':
      return finishWarmUp(ctx);
    case 'adopt':
      return adopt(ctx);
    case 'resize':
      return resize(ctx, decision.bytes);
    case 'roll-out':
      return rollOut(ctx);
    case 'steady':
      return Promise.resolve({ deployment: ctx.deployment });
  }
}

/** A starting model's Ready message says what the cluster says keeps it from running. */
function startingHold(ctx: ActionContext, deployment: ManagedDeployment | undefined): Hold | undefined {
  const problem = ctx.view.startProblems.get(holderOf(ctx.model));
  if (!deployment || !problem || !isStarting(deployment)) return undefined;
  return { reason: 'Deploying', message: `waiting for Deployment ${deployment.name}: ${problem}` };
}

async function startProblems(ports: ReconcilePorts, ref?: ModelRef): Promise<Map<string, string>> {
  try {
    return await ports.cluster.startProblems(ref);
  } catch (error) {
    // Only the Ready message is poorer for it; the decisions do not depend on it.
    ports.log.warn('Could not read why pods are not ready', { error: messageOf(error) });
    return new Map();
  }
}

function unknownPoolAsMissing(error: unknown): undefined {
  if (error instanceof LedgerError && error.code === 'unknown_pool') return undefined;
  throw error;
}
