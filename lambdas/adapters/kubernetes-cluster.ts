import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type KubeConfig,
  type V1Container,
  type V1Deployment,
  type V1DeploymentStrategy,
  type V1ObjectMeta,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import {
  API_GROUP,
  DEFAULT_POOL,
  FINALIZER,
  MANAGED_LABEL,
  MEMORY_ANNOTATION,
  MODEL_LABEL,
  POOL_LABEL,
  RESIZE_REFUSED_ANNOTATION,
  SCALED_TO_ZERO_ANNOTATION,
  SCALED_UP_ANNOTATION,
  START_FAILURE_ANNOTATION,
  type Cluster,
  type DeploymentNotes,
  type PodTemplate,
  type InferenceModel,
  type InferenceModelSpec,
  type InferenceModelStatus,
  type KubernetesEvent,
  type ManagedDeployment,
  type ModelRef,
  type ResourceSpec,
} from '../core/reconcile/model.js';
import { podTemplateFor } from '../core/reconcile/pod-template.js';

export const API_VERSION = 'v1alpha1';
export const INFERENCE_MODELS = {
  group: API_GROUP,
  version: API_VERSION,
  plural: 'inferencemodels',
} as const;
export const COMPONENT = 'inference-budget-control-plane';
const NAME_LABEL = 'app.kubernetes.io/name';
const COMPONENT_LABEL = 'app.kubernetes.io/component';
const CONTAINER_NAME = 'inference-server';
const MODEL_NAME_ENV = 'MODEL_NAME';
/** A finalizer write that keeps losing the optimistic-concurrency race gives up after this many tries. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * client-node 2.x picks the first content type the OpenAPI document lists for a PATCH, which is
 * JSON Patch; every patch here is a JSON merge patch, so each call sets the header explicitly.
 */
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const STRATEGIC_MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

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
  apiCalls = 0;
  private readonly custom: CustomObjectsApi;
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  /** resourceVersion of each model object this adapter returned, so a finalizer patch needs no extra GET. */
  private readonly versions = new WeakMap<InferenceModel, string>();

  constructor(
    config: KubeConfig,
    private readonly options: KubernetesClusterOptions = {},
  ) {
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.apps = config.makeApiClient(AppsV1Api);
    this.core = config.makeApiClient(CoreV1Api);
  }

  async listModels(): Promise<InferenceModel[]> {
    const lists = (await inNamespaces(this.options.namespaces, (namespace) =>
      this.call(() =>
        namespace === undefined
          ? this.custom.listClusterCustomObject({ ...INFERENCE_MODELS })
          : this.custom.listNamespacedCustomObject({ ...INFERENCE_MODELS, namespace }),
      ),
    )) as { items?: RawInferenceModel[] }[];
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
      this.call(() =>
        namespace === undefined
          ? this.apps.listDeploymentForAllNamespaces({ labelSelector })
          : this.apps.listNamespacedDeployment({ namespace, labelSelector }),
      ),
    );
    return lists.flatMap((list) => list.items).map(toManagedDeployment);
  }

  async getManagedDeployment(ref: ModelRef): Promise<ManagedDeployment | undefined> {
    if (!this.inScope(ref)) return undefined;
    const { namespace, name } = ref;
    const deployment = await this.call(() => this.apps.readNamespacedDeployment({ namespace, name })).catch(
      absentOn(404),
    );
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

  async createDeployment(model: InferenceModel, replicas: number): Promise<void> {
    await this.call(() =>
      this.apps.createNamespacedDeployment({
        namespace: model.namespace,
        body: deploymentFor(model, replicas),
      }),
    ).catch(absentOn(409));
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

  private async strategicPatch(model: ModelRef, body: object): Promise<void> {
    await this.call(() =>
      this.apps.patchNamespacedDeployment(
        { namespace: model.namespace, name: model.name, body },
        STRATEGIC_MERGE_PATCH,
      ),
    );
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
      this.call(() =>
        namespace === undefined
          ? this.core.listPodForAllNamespaces({ labelSelector })
          : this.core.listNamespacedPod({ namespace, labelSelector }),
      ),
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
    await this.call(() =>
      this.apps.patchNamespacedDeployment({ namespace: ref.namespace, name: ref.name, body }, MERGE_PATCH),
    );
  }

  async deleteDeployment(ref: ModelRef): Promise<void> {
    const { namespace, name } = ref;
    await this.call(() =>
      this.apps.deleteNamespacedDeployment({ namespace, name, propagationPolicy: 'Background' }),
    ).catch(absentOn(404));
  }

  /**
   * Merge-patches the status subresource. Fields absent from `status` are left as they are; a field
   * present with the value `undefined` is removed (sent as null), e.g. a cleared recommendation.
   */
  async patchStatus(model: InferenceModel, status: InferenceModelStatus): Promise<void> {
    const patch = Object.fromEntries(Object.entries(status).map(([key, value]) => [key, value ?? null]));
    await this.call(() =>
      this.custom.patchNamespacedCustomObjectStatus(
        { ...INFERENCE_MODELS, namespace: model.namespace, name: model.name, body: { status: patch } },
        MERGE_PATCH,
      ),
    ).catch(absentOn(404));
  }

  async emitEvent(event: KubernetesEvent): Promise<void> {
    const now = new Date();
    const { namespace, name } = event.model;
    await this.call(() =>
      this.core.createNamespacedEvent({
        namespace,
        body: {
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
          eventTime: new V1MicroTime(now.getTime()),
          count: 1,
        },
      }),
    );
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    this.apiCalls += 1;
    return request();
  }

  /** With a namespaces option, objects elsewhere do not exist for the control plane, as in the lists. */
  private inScope(ref: ModelRef): boolean {
    return this.options.namespaces === undefined || this.options.namespaces.includes(ref.namespace);
  }

  private async readModel(ref: ModelRef): Promise<RawInferenceModel | undefined> {
    const { namespace, name } = ref;
    const raw = await this.call(() =>
      this.custom.getNamespacedCustomObject({ ...INFERENCE_MODELS, namespace, name }),
    ).catch(absentOn(404));
    return raw as RawInferenceModel | undefined;
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
        await this.call(() =>
          this.custom.patchNamespacedCustomObject(
            { ...INFERENCE_MODELS, namespace: model.namespace, name: model.name, body },
            MERGE_PATCH,
          ),
        );
        return;
      } catch (error) {
        const code = statusCode(error);
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

interface RawInferenceModel {
  metadata?: V1ObjectMeta;
  spec?: Record<string, unknown>;
  status?: InferenceModelStatus;
}

/** The CRD's defaults again, for objects stored before a default existed or written with `null`. */
export function toInferenceModel(raw: RawInferenceModel): InferenceModel {
  const meta = raw.metadata ?? {};
  const spec = raw.spec ?? {};
  const resources = (spec.resources ?? {}) as { requests?: RawResources; limits?: RawResources };
  const modelSpec: InferenceModelSpec = {
    modelName: String(spec.modelName ?? ''),
    memory: String(spec.memory ?? ''),
    backendUrl: String(spec.backendUrl ?? ''),
    nodeSelector: (spec.nodeSelector as Record<string, string> | undefined) ?? { [POOL_LABEL]: DEFAULT_POOL },
    cooldownPeriod: (spec.cooldownPeriod as string | undefined) ?? '10m',
    maxReplicas: (spec.maxReplicas as number | undefined) ?? 1,
    dependencies: (spec.dependencies as string[] | undefined) ?? [],
    containerImage: (spec.containerImage as string | undefined) ?? '',
    resources: {
      ...(resources.requests && { requests: toResourceSpec(resources.requests) }),
      ...(resources.limits && { limits: toResourceSpec(resources.limits) }),
    },
    ...(typeof spec.startDeadline === 'string' && { startDeadline: spec.startDeadline }),
    ...(typeof spec.priority === 'number' && { priority: spec.priority }),
    ...(typeof spec.evictionMinIdle === 'string' && { evictionMinIdle: spec.evictionMinIdle }),
  };
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    generation: meta.generation ?? 0,
    deleting: Boolean(meta.deletionTimestamp),
    finalizers: meta.finalizers ?? [],
    spec: modelSpec,
    status: raw.status ?? {},
  };
}

/** The CRD takes cpu and memory as int-or-string and gpu as an integer or a string of digits. */
type RawResources = Record<'cpu' | 'memory' | 'gpu', number | string | undefined>;

function toResourceSpec(raw: RawResources): ResourceSpec {
  return {
    ...(raw.cpu !== undefined && { cpu: String(raw.cpu) }),
    ...(raw.memory !== undefined && { memory: String(raw.memory) }),
    ...(raw.gpu !== undefined && { gpu: Number(raw.gpu) }),
  };
}

export function toManagedDeployment(deployment: V1Deployment): ManagedDeployment {
  const annotations = deployment.metadata?.annotations ?? {};
  return {
    namespace: deployment.metadata?.namespace ?? '',
    name: deployment.metadata?.name ?? '',
    replicas: deployment.spec?.replicas ?? 0,
    readyReplicas: deployment.status?.readyReplicas ?? 0,
    failed: (deployment.status?.conditions ?? []).some(
      (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
    ),
    memoryAnnotation: annotations[MEMORY_ANNOTATION],
    scaledToZeroAt: timeOf(annotations[SCALED_TO_ZERO_ANNOTATION]),
    scaledUpAt: timeOf(annotations[SCALED_UP_ANNOTATION]),
    startFailure: annotations[START_FAILURE_ANNOTATION],
    resizeRefusedFor: annotations[RESIZE_REFUSED_ANNOTATION],
    template: toPodTemplate(deployment.spec?.template?.spec),
  };
}

function timeOf(text: string | undefined): number | undefined {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The fields of podTemplateFor, read back from a pod spec: the `inference-server` container, or the first. */
export function toPodTemplate(spec: V1PodSpec | undefined): PodTemplate {
  const containers = spec?.containers ?? [];
  const container = containers.find((c) => c.name === CONTAINER_NAME) ?? containers[0];
  const text = (values: Record<string, unknown> | undefined) =>
    Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, String(v)]));
  return {
    image: container?.image ?? '',
    modelName: container?.env?.find((e) => e.name === MODEL_NAME_ENV)?.value ?? '',
    nodeSelector: { ...(spec?.nodeSelector ?? {}) },
    requests: text(container?.resources?.requests),
    limits: text(container?.resources?.limits),
  };
}

/**
 * Why a pod is not running, in the cluster's words: the scheduler's message, a container's waiting
 * reason (ErrImagePull, ImagePullBackOff, CrashLoopBackOff) with its message, or a last termination.
 */
export function podProblem(pod: V1Pod): string | undefined {
  const unschedulable = pod.status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  if (unschedulable)
    return `pod ${pod.metadata?.name} cannot be scheduled: ${unschedulable.message ?? unschedulable.reason ?? 'no reason given'}`;
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing') {
      const last = status.lastState?.terminated;
      const exit = last && `last exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}`;
      // A crash loop's own message only says it backs off; how the container last ended says why.
      const detail =
        (waiting.reason === 'CrashLoopBackOff' ? (exit ?? waiting.message) : (waiting.message ?? exit)) ?? '';
      return `pod ${pod.metadata?.name}: ${waiting.reason}${detail ? `: ${detail}` : ''}`;
    }
  }
  return undefined;
}

/**
 * The spec part of a strategic merge patch that sets the model's pod template: keyed on the container
 * name, so another container (a sidecar someone added) is left alone; the nodeSelector and the resource
 * maps are replaced whole (a merged map would keep a key the spec dropped, and never match it again).
 */
function templatePatch(model: InferenceModel) {
  const template = podTemplateFor(model);
  const container = containerFor(template);
  return {
    // Deployments made before Recreate was the rule: drop the default's rollingUpdate settings.
    strategy: { ...RECREATE, rollingUpdate: null },
    template: {
      spec: {
        nodeSelector: { $patch: 'replace', ...template.nodeSelector },
        containers: [
          {
            ...container,
            resources: {
              requests: { $patch: 'replace', ...template.requests },
              limits: { $patch: 'replace', ...template.limits },
            },
          },
        ],
      },
    },
  };
}

/** The model's Deployment: owned by the InferenceModel, so deleting the model deletes it too. */
export function deploymentFor(model: InferenceModel, replicas: number): V1Deployment {
  const selector = {
    [NAME_LABEL]: labelValue(model.name),
    [MODEL_LABEL]: labelValue(model.spec.modelName),
  };
  const labels = { ...selector, [COMPONENT_LABEL]: CONTAINER_NAME, [MANAGED_LABEL]: 'true' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: model.name,
      namespace: model.namespace,
      labels,
      annotations: { [MEMORY_ANNOTATION]: model.spec.memory },
      ownerReferences: [
        {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'InferenceModel',
          name: model.name,
          uid: model.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas,
      strategy: RECREATE,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: { nodeSelector: model.spec.nodeSelector, containers: [containerFor(podTemplateFor(model))] },
      },
    },
  };
}

function containerFor(template: PodTemplate): V1Container {
  return {
    name: CONTAINER_NAME,
    image: template.image,
    env: [{ name: MODEL_NAME_ENV, value: template.modelName }],
    resources: { requests: template.requests, limits: template.limits },
  };
}

/**
 * A rollout stops the old pod before it starts the new one: a surge pod would hold GPU memory that no
 * allocation covers (the model holds one replica's worth), and on a full pool it could never schedule.
 */
const RECREATE: V1DeploymentStrategy = { type: 'Recreate' };

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * A valid label value is returned unchanged. Anything else (model names such as `meta-llama/Llama-2-70b`
 * hold '/', object names may exceed 63 characters) is lowercased, each invalid character becomes '-',
 * it is cut to 63 characters and trimmed to start and end alphanumeric. Distinct model names can then
 * share a value; the selector also holds app.kubernetes.io/name, the object name, which is unique in
 * its namespace (object names longer than 63 characters are the exception, and rare).
 */
export function labelValue(text: string): string {
  if (text.length <= 63 && LABEL_VALUE.test(text)) return text;
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-')
    .slice(0, 63)
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
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
    if (statusCode(error) === code) return undefined;
    throw error;
  };
}
