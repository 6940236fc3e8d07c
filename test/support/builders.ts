// Object builders for tests, in the style of kueue's pkg/util/testing: each starts from a complete, valid
// object (the CRD's defaults, a plausible model) and takes overrides for what the test is about, so a test
// states only what matters to it.
import type { Allocation, PoolDefinition, PoolSnapshot } from '../../lambdas/core/ledger/ledger.js';
import type { InferenceModel, InferenceModelSpec } from '../../lambdas/core/inference-model.js';
import { newDeployment, type ManagedDeployment } from '../../lambdas/core/reconcile/ports.js';
import type { WorkloadPassReport } from '../../lambdas/core/moe/budget.js';
import type { NodePoolConfig } from '../../lambdas/core/nodes/node-pools.js';
import { randomUUID } from 'node:crypto';

export const Gi = 2 ** 30;

/** The spec fields deploy/crd/ defaults, with their defaults: what a minimal manifest is stored with. */
export const CRD_SPEC_DEFAULTS = {
  nodeSelector: { 'inference-pool': 'default' },
  cooldownPeriod: '10m',
  maxReplicas: 1,
  dependencies: [],
  containerImage: '',
  resources: {},
};

/** The core's InferenceModel: defaults of the CRD, override what matters. */
export function inferenceModel(
  name: string,
  spec: Partial<InferenceModelSpec> & { pool?: string } = {},
  namespace = 'ml',
): InferenceModel {
  const { pool = 'gpu-a100', ...rest } = spec;
  return {
    namespace,
    name,
    uid: `uid-${namespace}-${name}`,
    generation: 1,
    deleting: false,
    finalizers: [],
    status: {},
    spec: {
      modelName: name,
      memory: '16Gi',
      backendUrl: `http://${name}.${namespace}.svc:8000`,
      nodeSelector: { 'inference-pool': pool },
      cooldownPeriod: '10m',
      maxReplicas: 1,
      dependencies: [],
      containerImage: 'vllm/vllm-openai:v0.6.0',
      resources: { limits: { gpu: 1 } },
      ...rest,
    },
  };
}

/** A managed Deployment of `inferenceModel(name)` as the cluster reports it; override what matters. */
export function managedDeployment(
  name: string,
  overrides: Partial<ManagedDeployment> = {},
  namespace = 'ml',
): ManagedDeployment {
  // Not stamped as scaled up: as a Deployment looks that the control plane did not scale.
  const created = newDeployment(inferenceModel(name, {}, namespace), 1, 0);
  return { ...created, readyReplicas: 1, scaledUpAt: undefined, ...overrides };
}

/**
 * An InferenceModel manifest as `kubectl apply` or an AdmissionReview carries it: only the required
 * fields, so the CRD's defaults (and the webhook's patch) have something to do; `spec` adds to them.
 */
export function inferenceModelManifest(
  name: string,
  spec: Record<string, unknown> = {},
  namespace = 'models',
) {
  const required = { modelName: name, memory: '16Gi', backendUrl: `http://${name}.${namespace}.svc:8000` };
  return inferenceModelWithSpec(name, { ...required, ...spec }, namespace);
}

/** An InferenceModel manifest with exactly `spec`, nothing filled in: for what the CRD must refuse or keep. */
export function inferenceModelWithSpec<S>(name: string, spec: S, namespace = 'models') {
  return {
    apiVersion: 'inference.eh-ops.io/v1alpha1',
    kind: 'InferenceModel',
    metadata: { name, namespace },
    spec,
  };
}

/** A node pool as NODE_POOLS configures it: `gpu-a100`, one 80Gi node at most; override what matters. */
export function nodePoolConfig(overrides: Partial<NodePoolConfig> = {}): NodePoolConfig {
  const name = overrides.name ?? 'gpu-a100';
  return {
    name,
    nodeGroup: `ng-${name.replace(/^gpu-/, '')}`,
    bytesPerNode: 80 * Gi,
    minNodes: 0,
    maxNodes: 1,
    ...overrides,
  };
}

/** The MoE workloads' part of a scheduled pass's report: by default, nothing found and nothing repaired. */
export function workloadPassReport(overrides: Partial<WorkloadPassReport> = {}): WorkloadPassReport {
  return {
    workloads: 0,
    invalid: 0,
    allocated: [],
    resized: [],
    released: [],
    unbudgeted: [],
    errors: [],
    ...overrides,
  };
}

/** An allocation as the ledger reports it. */
export function allocation(
  holder: string,
  bytes: number,
  since = 0,
  lastActivity: number | undefined = undefined,
): Allocation {
  return { holder, bytes, since, lastActivity };
}

/** A pool as the ledger reports it, its allocated and available bytes summed from the allocations. */
export function poolSnapshot(
  definition: Partial<PoolDefinition> = {},
  allocations: Allocation[] = [],
): PoolSnapshot {
  const name = definition.name ?? 'gpu-a100';
  const totalBytes = definition.totalBytes ?? 320 * Gi;
  const allocatedBytes = allocations.reduce((sum, a) => sum + a.bytes, 0);
  return {
    name,
    nodeGroup: definition.nodeGroup ?? name,
    bytesPerNode: definition.bytesPerNode ?? 80 * Gi,
    totalBytes,
    allocatedBytes,
    availableBytes: totalBytes - allocatedBytes,
    allocations,
  };
}

/** An AdmissionReview envelope (admission.k8s.io/v1) around `request`, exactly as given. */
export function admissionReviewOf<R>(request: R): { apiVersion: string; kind: string; request: R } {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}

/**
 * An AdmissionReview the API server sends the InferenceModel webhooks: by default a dry-run CREATE of
 * `object` in `namespace`; chain what the test is about, end with `.obj()` (or `.json()` for a body).
 */
export function admissionReview(object: unknown, namespace = 'models'): AdmissionReviewBuilder {
  return new AdmissionReviewBuilder(object, namespace);
}

export class AdmissionReviewBuilder {
  private request: Record<string, unknown>;

  constructor(object: unknown, namespace: string) {
    this.request = {
      uid: randomUUID(),
      kind: { group: 'inference.eh-ops.io', version: 'v1alpha1', kind: 'InferenceModel' },
      resource: { group: 'inference.eh-ops.io', version: 'v1alpha1', resource: 'inferencemodels' },
      operation: 'CREATE',
      namespace,
      object,
      dryRun: true,
      userInfo: { username: 'test' },
    };
  }

  get uid(): unknown {
    return this.request.uid;
  }

  /** An UPDATE from `oldObject` to the object. */
  update(oldObject: unknown): this {
    return this.with({ operation: 'UPDATE', oldObject });
  }

  /** The request's own name, beside the object's. */
  name(name: string): this {
    return this.with({ name });
  }

  /** A real request rather than a dry run: the webhook announces what it admits. */
  notDryRun(): this {
    return this.with({ dryRun: false });
  }

  /** Any request fields, malformed ones too; a field set to `undefined` is left out of the JSON. */
  with(fields: Record<string, unknown>): this {
    this.request = { ...this.request, ...fields };
    return this;
  }

  obj() {
    return admissionReviewOf({ ...this.request } as { uid: unknown; [field: string]: unknown });
  }

  /** The review as a request body. */
  json(): string {
    return JSON.stringify(this.obj());
  }
}
