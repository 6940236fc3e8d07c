import { formatDuration } from '../duration.js';
import type { AllocateResult, Allocation, PoolSnapshot } from '../ledger/model.js';
import { LedgerError } from '../ledger/model.js';
import { fenceOf, isWorkloadReplica } from '../ledger/rules.js';
import { formatQuantity, parseQuantity } from '../quantity.js';
import { decide, desiredReplicas } from './decide.js';
import {
  FINALIZER,
  holderOf,
  newDeployment,
  poolOf,
  type InferenceModel,
  type ManagedDeployment,
  type ModelRef,
  type ReconcilePorts,
} from './model.js';
import { deriveStatus, statusUnchanged, type Hold } from './status.js';

export interface ReconcileOptions {
  /** How long an allocation without a model may live before it is released (a warm-up in flight). */
  orphanGraceMs: number;
}

export interface PassReport {
  models: number;
  errors: { model: string; message: string }[];
  orphansReleased: string[];
  /** What the pass listed at its start, for the metrics published after it. */
  observed: { models: InferenceModel[]; deployments: ManagedDeployment[] };
}

const MODELS_IN_FLIGHT = 8;

/** What one reconcile of one model knows about the rest of the world. */
interface View {
  deployments: Map<string, ManagedDeployment>;
  models: Map<string, InferenceModel>;
  allocations: Map<string, Allocation>;
  pools: Set<string>;
  /** Scheduled passes decide idleness; event-driven reconciles never scale to zero. */
  idleDecisions: boolean;
  /** Holders of the models a running model depends on: in use, so never idle. Derived once per view. */
  neededByRunningModels: Set<string>;
}

/** The scheduled pass: one list per kind, then every model, then allocations left without a model. */
export async function reconcileAll(ports: ReconcilePorts, options: ReconcileOptions): Promise<PassReport> {
  const now = ports.clock();
  const [models, deployments, pools] = await Promise.all([
    ports.cluster.listModels(),
    ports.cluster.listManagedDeployments(),
    ports.ledger.listPools(),
  ]);
  const view = buildView(models, deployments, pools, true);
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
        await reconcileModel(ports, view, model, now);
      } catch (error) {
        report.errors.push({ model: holderOf(model), message: messageOf(error) });
        ports.log.error('Reconcile failed', { ...fields(model), error: messageOf(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: MODELS_IN_FLIGHT }, worker));
  report.orphansReleased = await releaseOrphans(ports, pools, view, now, options);
  return report;
}

/** The event-driven reconcile of one model (admission webhook, warm-up): a few GETs, no list. */
export async function reconcileOne(ports: ReconcilePorts, ref: ModelRef): Promise<void> {
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
  const [deployments, pool] = await Promise.all([
    Promise.all([model, ...dependencies].map((m) => ports.cluster.getManagedDeployment(m))),
    ports.ledger.readPool(poolOf(model)).catch(unknownPoolAsMissing),
  ]);
  const view = buildView(
    [model, ...dependencies],
    deployments.filter((d): d is ManagedDeployment => d !== undefined),
    pool ? [pool] : [],
    false,
  );
  await reconcileModel(ports, view, model, now);
}

async function reconcileModel(
  ports: ReconcilePorts,
  view: View,
  model: InferenceModel,
  now: number,
): Promise<void> {
  const { cluster, log } = ports;
  const key = holderOf(model);
  const deployment = view.deployments.get(key);

  if (model.deleting) {
    if (model.finalizers.includes(FINALIZER)) await finalize(ports, view, model, deployment, now);
    return;
  }
  if (!model.finalizers.includes(FINALIZER)) await cluster.addFinalizer(model);

  const pool = poolOf(model);
  if (!view.pools.has(pool)) {
    return writeStatus(
      ports,
      model,
      deployment,
      {
        reason: 'Pending',
        message: `node pool "${pool}" has no budget: define it in the control plane's configuration`,
      },
      now,
    );
  }
  const memoryBytes = parseQuantity(model.spec.memory);
  const dependencies = model.spec.dependencies.map((name) => ({
    name,
    model: resolveDependency(view.models.values(), model.namespace, name),
  }));
  const missingDependencies = dependencies.filter((d) => !d.model).map((d) => d.name);
  const dependenciesNotReady = dependencies
    .filter((d) => !d.model || (view.deployments.get(holderOf(d.model))?.readyReplicas ?? 0) === 0)
    .map((d) => d.name);
  const decision = decide({
    model,
    memoryBytes,
    deployment,
    allocation: view.allocations.get(key),
    dependenciesNotReady,
    neededByRunningModel: !view.idleDecisions || view.neededByRunningModels.has(key),
    now,
  });

  let hold: Hold | undefined;
  let current = deployment;
  switch (decision.kind) {
    case 'create': {
      if (decision.replicas > 0) {
        const result = await allocate(ports, model, memoryBytes, now);
        if (result.outcome === 'insufficient') {
          hold = await reportInsufficient(
            ports,
            model,
            result,
            'Insufficient memory budget, cannot create deployment',
          );
          break;
        }
      }
      await cluster.createDeployment(model, decision.replicas);
      log.info('Created deployment for InferenceModel', fields(model));
      await event(
        ports,
        model,
        'Normal',
        'Created',
        `Created Deployment ${model.name} with ${decision.replicas} replica(s)`,
      );
      current = newDeployment(model, decision.replicas);
      break;
    }
    case 'await-deployment':
      hold = {
        reason: 'Pending',
        message: `spec.containerImage is empty, so the control plane waits for a Deployment named ${model.name} to manage`,
      };
      break;
    case 'await-dependencies': {
      if (missingDependencies.length > 0) {
        hold = { reason: 'Pending', message: `dependencies not found: ${missingDependencies.join(', ')}` };
        break;
      }
      for (const name of decision.notReady) {
        const dependency = resolveDependency(view.models.values(), model.namespace, name);
        if (dependency) await warmDependency(ports, view, dependency, now);
      }
      hold = {
        reason: 'Pending',
        message: `waiting for dependencies to be ready: ${decision.notReady.join(', ')}`,
      };
      break;
    }
    case 'scale-to-zero':
      await cluster.scaleDeployment(model, 0, now);
      log.info('Scaled deployment to zero replicas', {
        ...fields(model),
        reason: 'idle timeout',
        idleFor: formatDuration(decision.idleMs),
      });
      await event(
        ports,
        model,
        'Normal',
        'ScaledToZero',
        `Scaled to zero after ${formatDuration(decision.idleMs)} idle`,
      );
      current = current && { ...current, replicas: 0, readyReplicas: 0, scaledToZeroAt: now };
      await release(ports, view, model, 'scaled to zero');
      break;
    case 'finish-scale-down':
      await release(ports, view, model, 'scaled to zero');
      break;
    case 'finish-warm-up':
      await cluster.scaleDeployment(model, decision.replicas, now);
      log.info('Triggered scale-up for deployment', { ...fields(model), deployment: model.name });
      await event(ports, model, 'Normal', 'ScaledUp', `Scaled up to ${decision.replicas} replica(s)`);
      current = current && { ...current, replicas: decision.replicas };
      break;
    case 'adopt': {
      const result = await allocate(ports, model, memoryBytes, now);
      if (result.outcome === 'insufficient') {
        log.warn('Running without a memory budget allocation', {
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
      break;
    }
    case 'resize': {
      const result = await ports.ledger.resize({ pool, holder: key, bytes: decision.bytes, now });
      if (result.outcome === 'insufficient') {
        await event(
          ports,
          model,
          'Warning',
          'ResizeRefused',
          `Cannot grow to ${model.spec.memory}: pool ${pool} has ${formatQuantity(result.availableBytes)} free; keeping ${formatQuantity(decision.bytes - result.requestedBytes)}`,
        );
      } else {
        await cluster.scaleDeployment(model, current?.replicas ?? desiredReplicas(model), now);
        log.info('Memory budget allocated', {
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
      }
      break;
    }
    case 'steady':
      break;
  }
  await writeStatus(ports, model, current, hold, now);
}

async function finalize(
  ports: ReconcilePorts,
  view: View,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  now: number,
): Promise<void> {
  ports.log.info('Handling InferenceModel deletion, releasing memory budget', fields(model));
  await writeStatus(
    ports,
    model,
    deployment,
    { reason: 'Terminating', message: 'releasing memory budget' },
    now,
  );
  if (deployment && deployment.replicas > 0) await ports.cluster.scaleDeployment(model, 0, now);
  if (view.pools.has(poolOf(model))) await release(ports, view, model, 'model deleted');
  if (deployment) await ports.cluster.deleteDeployment(model);
  await ports.cluster.removeFinalizer(model);
  ports.log.info('Finalizer removed, InferenceModel can be deleted', fields(model));
}

/** Scale-up of a dependency a model waits for: the same allocate-then-scale as a warm-up. */
async function warmDependency(
  ports: ReconcilePorts,
  view: View,
  dependency: InferenceModel,
  now: number,
): Promise<void> {
  const deployment = view.deployments.get(holderOf(dependency));
  if (!deployment || deployment.replicas > 0 || !view.pools.has(poolOf(dependency))) return;
  const result = await allocate(ports, dependency, parseQuantity(dependency.spec.memory), now);
  if (result.outcome === 'insufficient') {
    await reportInsufficient(
      ports,
      dependency,
      result,
      'Insufficient memory budget, cannot create deployment',
    );
    return;
  }
  await ports.cluster.scaleDeployment(dependency, desiredReplicas(dependency), now);
  ports.log.info('Triggered scale-up for deployment', {
    ...fields(dependency),
    deployment: dependency.name,
    reason: 'dependency',
  });
}

async function allocate(
  ports: ReconcilePorts,
  model: InferenceModel,
  bytes: number,
  now: number,
): Promise<AllocateResult> {
  const pool = poolOf(model);
  const result = await ports.ledger.allocate({ pool, holder: holderOf(model), bytes, now });
  if (result.outcome === 'allocated') {
    ports.log.info('Memory budget allocated', {
      ...fields(model),
      memory: model.spec.memory,
      nodePool: pool,
    });
    await event(ports, model, 'Normal', 'MemoryAllocated', `Allocated ${model.spec.memory} in pool ${pool}`);
  }
  return result;
}

async function release(
  ports: ReconcilePorts,
  view: View,
  model: InferenceModel,
  reason: string,
): Promise<void> {
  const held = view.allocations.get(holderOf(model));
  if (!held) return;
  const result = await ports.ledger.release({
    pool: poolOf(model),
    holder: holderOf(model),
    fence: fenceOf(held),
  });
  if (result.released) {
    ports.log.info('Memory budget released', {
      ...fields(model),
      reason,
      memory: formatQuantity(result.bytes),
    });
  }
}

async function reportInsufficient(
  ports: ReconcilePorts,
  model: InferenceModel,
  result: Extract<AllocateResult, { outcome: 'insufficient' }>,
  logMessage: string,
): Promise<Hold> {
  const blockers = result.blocking.map(
    (b) => `${b.holder} (${formatQuantity(b.bytes)}, idle ${formatDuration(b.idleMs)})`,
  );
  const message =
    `needs ${model.spec.memory} in pool ${poolOf(model)}, ${formatQuantity(result.availableBytes)} free` +
    (blockers.length > 0 ? `; blocked by ${blockers.join(', ')}` : '; larger than the whole pool');
  ports.log.info(logMessage, {
    ...fields(model),
    memory: model.spec.memory,
    nodePool: poolOf(model),
    blocking: result.blocking.length,
  });
  await event(ports, model, 'Warning', 'InsufficientMemory', message);
  return { reason: 'InsufficientMemory', message };
}

async function writeStatus(
  ports: ReconcilePorts,
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  hold: Hold | undefined,
  now: number,
): Promise<void> {
  const status = deriveStatus(model, deployment, hold, now);
  if (statusUnchanged(model, status)) return;
  await ports.cluster.patchStatus(model, status);
  if (status.ready && !model.status.ready) ports.log.info('Model is now ready', fields(model));
}

/** Events explain decisions; losing one must not undo or repeat the decision itself. */
async function event(
  ports: ReconcilePorts,
  model: InferenceModel,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  try {
    await ports.cluster.emitEvent({ model, type, reason, message });
  } catch (error) {
    ports.log.warn('Could not record event', { ...fields(model), reason, error: messageOf(error) });
  }
}

async function releaseOrphans(
  ports: ReconcilePorts,
  pools: PoolSnapshot[],
  view: View,
  now: number,
  options: ReconcileOptions,
): Promise<string[]> {
  const released: string[] = [];
  for (const pool of pools) {
    for (const allocation of pool.allocations) {
      // `ns/name#N` holders are workload replicas, reconciled with their workloads, not here.
      if (isWorkloadReplica(allocation.holder) || view.models.has(allocation.holder)) continue;
      if (now - allocation.since < options.orphanGraceMs) continue;
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

function buildView(
  models: InferenceModel[],
  deployments: ManagedDeployment[],
  pools: PoolSnapshot[],
  idleDecisions: boolean,
): View {
  const allocations = new Map<string, Allocation>();
  for (const pool of pools) for (const a of pool.allocations) allocations.set(a.holder, a);
  const byHolder = new Map(deployments.map((d) => [holderOf(d), d]));
  const neededByRunningModels = new Set<string>();
  for (const model of models) {
    if ((byHolder.get(holderOf(model))?.replicas ?? 0) === 0) continue;
    for (const name of model.spec.dependencies) {
      const dependency = resolveDependency(models, model.namespace, name);
      if (dependency) neededByRunningModels.add(holderOf(dependency));
    }
  }
  return {
    models: new Map(models.map((m) => [holderOf(m), m])),
    deployments: byHolder,
    allocations,
    pools: new Set(pools.map((p) => p.name)),
    idleDecisions,
    neededByRunningModels,
  };
}

/**
 * A dependency names another model of the same namespace, by object name or by the `modelName` clients
 * use (manifests written for the original operator use either); the object name wins.
 */
export function resolveDependency(
  models: Iterable<InferenceModel>,
  namespace: string,
  name: string,
): InferenceModel | undefined {
  const candidates = [...models].filter((m) => m.namespace === namespace);
  return candidates.find((m) => m.name === name) ?? candidates.find((m) => m.spec.modelName === name);
}

function unknownPoolAsMissing(error: unknown): undefined {
  if (error instanceof LedgerError && error.code === 'unknown_pool') return undefined;
  throw error;
}

function fields(model: ModelRef): Record<string, string> {
  return { model: model.name, namespace: model.namespace };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
