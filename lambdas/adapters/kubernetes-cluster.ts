import type { V1Deployment, V1DeploymentList, V1PodList } from '@kubernetes/client-node';
import {
  DEPLOYMENTS,
  EVENTS,
  KubernetesApi,
  PODS,
  resourcePath,
  statusOf,
  type KubernetesEndpoint,
} from './kubernetes-api.js';
import {
  API_GROUP,
  FINALIZER,
  MANAGED_LABEL,
  MEMORY_ANNOTATION,
  RESIZE_REFUSED_ANNOTATION,
  SCALED_TO_ZERO_ANNOTATION,
  SCALED_UP_ANNOTATION,
  START_FAILURE_ANNOTATION,
  type InferenceModel,
  type InferenceModelStatus,
  type ModelRef,
} from '../core/inference-model.js';
import type {
  Cluster,
  DeploymentNotes,
  KubernetesEvent,
  ManagedDeployment,
} from '../core/reconcile/ports.js';
import {
  API_VERSION,
  deploymentFor,
  INFERENCE_MODELS,
  labelValue,
  NAME_LABEL,
  podProblem,
  templatePatch,
  toInferenceModel,
  toManagedDeployment,
  type RawInferenceModel,
} from './kubernetes-cluster-mappers.js';

const COMPONENT = 'inference-budget-control-plane';
/** A finalizer write that keeps losing the optimistic-concurrency race gives up after this many tries. */
const MAX_CONFLICT_RETRIES = 5;

export interface KubernetesClusterOptions {
  /** These namespaces only (namespaced mode, tests sharing one apiserver); default: the whole cluster. */
  namespaces?: readonly string[];
}

/**
 * The Cluster on a real kube-apiserver. Reads are one list per kind per pass (cluster-wide, or one per
 * namespace when namespaces are given, so namespaced RBAC suffices); writes are merge patches, finalizer changes guarded by resourceVersion.
 * `apiCalls` counts HTTP requests, retries included.
 */
export class KubernetesCluster implements Cluster {
  private readonly api: KubernetesApi;
  /** resourceVersion of each model object this adapter returned, so a finalizer patch needs no extra GET. */
  private readonly versions = new WeakMap<InferenceModel, string>();

  constructor(
    endpoint: KubernetesEndpoint,
    private readonly options: KubernetesClusterOptions = {},
  ) {
    this.api = new KubernetesApi(endpoint);
  }

  get apiCalls(): number {
    return this.api.requests;
  }

  async listModels(): Promise<InferenceModel[]> {
    const lists = await inNamespaces(this.options.namespaces, (namespace) =>
      this.api.get<{ items?: RawInferenceModel[] }>(resourcePath(INFERENCE_MODELS, { namespace })),
    );
    return lists.flatMap((list) => list.items ?? []).map((raw) => this.toModel(raw));
  }

  async getModel(ref: ModelRef): Promise<InferenceModel | undefined> {
    if (!this.inScope(ref)) return undefined;
    const raw = await this.readModel(ref);
    return raw && this.toModel(raw);
  }

  async listManagedDeployments(): Promise<ManagedDeployment[]> {
    const labelSelector = `${MANAGED_LABEL}=true`;
    const lists = await inNamespaces(this.options.namespaces, (namespace) =>
      this.api.get<V1DeploymentList>(resourcePath(DEPLOYMENTS, { namespace }), { labelSelector }),
    );
    return lists.flatMap((list) => list.items).map(toManagedDeployment);
  }

  async getManagedDeployment(ref: ModelRef): Promise<ManagedDeployment | undefined> {
    if (!this.inScope(ref)) return undefined;
    const deployment = await this.api.get<V1Deployment>(resourcePath(DEPLOYMENTS, ref)).catch(absentOn(404));
    // Same view as the list: a Deployment the control plane does not manage is not its business.
    if (deployment?.metadata?.labels?.[MANAGED_LABEL] !== 'true') return undefined;
    return toManagedDeployment(deployment);
  }

  async addFinalizer(model: InferenceModel): Promise<void> {
    await this.updateFinalizers(model, (list) => (list.includes(FINALIZER) ? list : [...list, FINALIZER]));
  }

  async removeFinalizer(model: InferenceModel): Promise<void> {
    await this.updateFinalizers(model, (list) => list.filter((f) => f !== FINALIZER), true);
  }

  async createDeployment(model: InferenceModel, replicas: number, at: number): Promise<void> {
    await this.api
      .create(resourcePath(DEPLOYMENTS, { namespace: model.namespace }), deploymentFor(model, replicas, at))
      .catch(absentOn(409));
  }

  async scaleDeployment(
    model: InferenceModel,
    replicas: number,
    at: number,
    startFailure?: string,
  ): Promise<void> {
    const stamp = new Date(at).toISOString();
    const annotations = {
      [MEMORY_ANNOTATION]: model.spec.memory,
      [SCALED_TO_ZERO_ANNOTATION]: replicas === 0 ? stamp : null,
      [SCALED_UP_ANNOTATION]: replicas > 0 ? stamp : null,
      [START_FAILURE_ANNOTATION]: replicas === 0 && startFailure ? startFailure : null,
    };
    // Scaling up writes the template the caller budgeted for in the same patch (unchanged, it makes no
    // new ReplicaSet); a Deployment the model does not own keeps its template.
    if (replicas > 0 && model.spec.containerImage) {
      await this.strategicPatch(model, {
        metadata: { annotations },
        spec: { replicas, ...templatePatch(model) },
      });
    } else {
      await this.patchDeployment(model, { metadata: { annotations }, spec: { replicas } });
    }
  }

  async rollOut(model: InferenceModel, at: number): Promise<void> {
    await this.strategicPatch(model, {
      metadata: { annotations: { [SCALED_UP_ANNOTATION]: new Date(at).toISOString() } },
      spec: templatePatch(model),
    });
  }

  private async strategicPatch(ref: ModelRef, body: object): Promise<void> {
    await this.api.patch(resourcePath(DEPLOYMENTS, ref), body, 'strategic');
  }

  async annotateDeployment(ref: ModelRef, notes: DeploymentNotes): Promise<void> {
    const annotations: Record<string, string | null> = {};
    if (notes.memory !== undefined) annotations[MEMORY_ANNOTATION] = notes.memory;
    if (notes.resizeRefusedFor !== undefined) annotations[RESIZE_REFUSED_ANNOTATION] = notes.resizeRefusedFor;
    await this.patchDeployment(ref, { metadata: { annotations } });
  }

  async startProblems(ref?: ModelRef): Promise<Map<string, string>> {
    const labelSelector = `${MANAGED_LABEL}=true` + (ref ? `,${NAME_LABEL}=${labelValue(ref.name)}` : '');
    const lists = await inNamespaces(ref ? [ref.namespace] : this.options.namespaces, (namespace) =>
      this.api.get<V1PodList>(resourcePath(PODS, { namespace }), { labelSelector }),
    );
    const problems = new Map<string, string>();
    for (const pod of lists.flatMap((list) => list.items)) {
      const owner = pod.metadata?.labels?.[NAME_LABEL];
      const problem = podProblem(pod);
      if (!owner || !problem || !pod.metadata?.namespace) continue;
      const holder = `${pod.metadata.namespace}/${owner}`;
      // One pod's words are enough; a scheduling problem explains the rest.
      if (!problems.has(holder)) problems.set(holder, problem);
    }
    return problems;
  }

  private async patchDeployment(ref: ModelRef, body: object): Promise<void> {
    await this.api.patch(resourcePath(DEPLOYMENTS, ref), body, 'merge');
  }

  async deleteDeployment(ref: ModelRef): Promise<void> {
    await this.api
      .delete(resourcePath(DEPLOYMENTS, ref), { propagationPolicy: 'Background' })
      .catch(absentOn(404));
  }

  /**
   * Merge-patches the status subresource. Fields absent from `status` are left as they are; a field
   * present with the value `undefined` is removed (sent as null), e.g. a cleared recommendation.
   */
  async patchStatus(model: InferenceModel, status: InferenceModelStatus): Promise<void> {
    const patch = Object.fromEntries(Object.entries(status).map(([key, value]) => [key, value ?? null]));
    const path = resourcePath(INFERENCE_MODELS, {
      namespace: model.namespace,
      name: model.name,
      subresource: 'status',
    });
    await this.api.patch(path, { status: patch }, 'merge').catch(absentOn(404));
  }

  async emitEvent(event: KubernetesEvent): Promise<void> {
    const now = new Date().toISOString();
    const { namespace, name } = event.model;
    await this.api.create(resourcePath(EVENTS, { namespace }), {
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: {
        apiVersion: `${API_GROUP}/${API_VERSION}`,
        kind: 'InferenceModel',
        namespace,
        name,
      },
      type: event.type,
      reason: event.reason,
      message: event.message,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: COMPONENT,
      // With eventTime set the apiserver validates the event as a new-style one, which needs an action.
      action: 'Reconcile',
      firstTimestamp: now,
      lastTimestamp: now,
      // A MicroTime: the apiserver parses it with exactly six fractional digits.
      eventTime: now.replace(/Z$/, '000Z'),
      count: 1,
    });
  }

  /** With a namespaces option, objects elsewhere do not exist for the control plane, as in the lists. */
  private inScope(ref: ModelRef): boolean {
    return this.options.namespaces === undefined || this.options.namespaces.includes(ref.namespace);
  }

  private async readModel(ref: ModelRef): Promise<RawInferenceModel | undefined> {
    return this.api.get<RawInferenceModel>(resourcePath(INFERENCE_MODELS, ref)).catch(absentOn(404));
  }

  private async readFinalizers(ref: ModelRef): Promise<FinalizerSnapshot | undefined> {
    const meta = (await this.readModel(ref))?.metadata;
    return meta && { finalizers: meta.finalizers ?? [], resourceVersion: meta.resourceVersion ?? '' };
  }

  private toModel(raw: RawInferenceModel): InferenceModel {
    const model = toInferenceModel(raw);
    if (raw.metadata?.resourceVersion) this.versions.set(model, raw.metadata.resourceVersion);
    return model;
  }

  /**
   * A merge patch replaces the whole finalizer list, so it carries the resourceVersion it was computed
   * from: a concurrent writer makes it fail with 409, and the list is recomputed from a fresh read.
   */
  private async updateFinalizers(
    model: InferenceModel,
    change: (finalizers: string[]) => string[],
    goneIsDone = false,
  ): Promise<void> {
    const known = this.versions.get(model);
    let current: FinalizerSnapshot | undefined = known
      ? { finalizers: model.finalizers, resourceVersion: known }
      : undefined;
    for (let attempt = 1; ; attempt++) {
      current ??= await this.readFinalizers(model);
      if (!current) {
        if (goneIsDone) return;
        throw new Error(`InferenceModel ${model.namespace}/${model.name} not found`);
      }
      const next = change(current.finalizers);
      if (sameList(next, current.finalizers)) return;
      const body = { metadata: { finalizers: next, resourceVersion: current.resourceVersion } };
      try {
        await this.api.patch(resourcePath(INFERENCE_MODELS, model), body, 'merge');
        return;
      } catch (error) {
        const code = statusOf(error);
        if (code === 404 && goneIsDone) return;
        if (code !== 409 || attempt >= MAX_CONFLICT_RETRIES) throw error;
        current = undefined;
      }
    }
  }
}

interface FinalizerSnapshot {
  finalizers: string[];
  resourceVersion: string;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/**
 * One request per namespace, or one for the whole cluster (`undefined`) when no namespaces are given:
 * namespaced mode's RBAC (deploy/rbac/namespace/) grants no cluster-wide list.
 */
export function inNamespaces<T>(
  namespaces: readonly string[] | undefined,
  request: (namespace: string | undefined) => Promise<T>,
): Promise<T[]> {
  return Promise.all(namespaces === undefined ? [request(undefined)] : namespaces.map(request));
}

/** A catch handler that turns the given HTTP status into `undefined` and rethrows anything else. */
function absentOn(code: number): (error: unknown) => undefined {
  return (error) => {
    if (statusOf(error) === code) return undefined;
    throw error;
  };
}
