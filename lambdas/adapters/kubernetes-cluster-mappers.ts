// The Kubernetes adapter's pure half: the InferenceModel and Deployment objects as the API server holds
// them, mapped to the core's words and back. No API calls (kubernetes-cluster.ts makes those); unit-tested
// in test/unit/adapters/kubernetes-cluster-mappers.test.ts.
import type {
  V1Container,
  V1Deployment,
  V1DeploymentStrategy,
  V1ObjectMeta,
  V1Pod,
  V1PodSpec,
} from '@kubernetes/client-node';
import {
  API_GROUP,
  DEFAULT_POOL,
  MANAGED_LABEL,
  MEMORY_ANNOTATION,
  MODEL_LABEL,
  POOL_LABEL,
  RESIZE_REFUSED_ANNOTATION,
  SCALED_TO_ZERO_ANNOTATION,
  SCALED_UP_ANNOTATION,
  START_FAILURE_ANNOTATION,
  type InferenceModel,
  type InferenceModelSpec,
  type InferenceModelStatus,
  type ResourceSpec,
} from '../core/inference-model.js';
import { podTemplateFor } from '../core/reconcile/pod-template.js';
import type { ManagedDeployment, PodTemplate } from '../core/reconcile/ports.js';

export const API_VERSION = 'v1alpha1';
export const INFERENCE_MODELS = {
  group: API_GROUP,
  version: API_VERSION,
  plural: 'inferencemodels',
} as const;
export const NAME_LABEL = 'app.kubernetes.io/name';
const COMPONENT_LABEL = 'app.kubernetes.io/component';
const CONTAINER_NAME = 'inference-server';
const MODEL_NAME_ENV = 'MODEL_NAME';

export interface RawInferenceModel {
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
export function templatePatch(model: InferenceModel) {
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
export function deploymentFor(model: InferenceModel, replicas: number, at: number): V1Deployment {
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
      annotations: {
        [MEMORY_ANNOTATION]: model.spec.memory,
        ...(replicas > 0 ? { [SCALED_UP_ANNOTATION]: new Date(at).toISOString() } : {}),
      },
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
