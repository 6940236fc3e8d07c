import type { Allocation, PoolSnapshot } from '../ledger/ledger.js';
import { DEFAULT_POOL, POOL_LABEL, holderOf, poolOf, type InferenceModel } from '../inference-model.js';
import { type ManagedDeployment } from './ports.js';

/** An allocation and the pool it is held in. */
export interface Holding {
  pool: string;
  allocation: Allocation;
}

/** What one reconcile of one model knows about the rest of the world. */
export interface View {
  deployments: Map<string, ManagedDeployment>;
  models: Map<string, InferenceModel>;
  /** Every allocation a model holds, in whichever pool (a model moved between pools may hold in the old one). */
  holdings: Map<string, Holding>;
  pools: Set<string>;
  /** Scheduled passes decide idleness; event-driven reconciles never scale to zero for idleness. */
  idleDecisions: boolean;
  /** Holders of the models a running model depends on: in use, so never idle. Derived once per view. */
  neededByRunningModels: Set<string>;
  /** Why starting pods are not ready, in the cluster's words, by holder (read only when some model starts). */
  startProblems: Map<string, string>;
}

export function buildView(
  models: InferenceModel[],
  deployments: ManagedDeployment[],
  pools: PoolSnapshot[],
  idleDecisions: boolean,
  startProblems: Map<string, string> = new Map(),
): View {
  const holdings = new Map<string, Holding>();
  for (const pool of pools)
    for (const a of pool.allocations) holdings.set(a.holder, { pool: pool.name, allocation: a });
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
    holdings,
    pools: new Set(pools.map((p) => p.name)),
    idleDecisions,
    neededByRunningModels,
    startProblems,
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

/** Whether the control plane owns the Deployment's pod template (it creates it from the model's image). */
export function ownsTemplate(model: InferenceModel): boolean {
  return model.spec.containerImage !== '';
}

/** The pool a Deployment's pods run in: its template's selector when the control plane owns it. */
export function podPool(model: InferenceModel, deployment: ManagedDeployment): string {
  if (!ownsTemplate(model)) return poolOf(model);
  return deployment.template.nodeSelector[POOL_LABEL] ?? DEFAULT_POOL;
}

export function isReady(deployment: ManagedDeployment | undefined): boolean {
  return (deployment?.replicas ?? 0) > 0 && (deployment?.readyReplicas ?? 0) > 0;
}

/** A model is starting while it should run but no replica is ready yet: never idle then. */
export function isStarting(deployment: ManagedDeployment): boolean {
  return deployment.replicas > 0 && deployment.readyReplicas === 0;
}
