// Object builders for tests, in the style of kueue's pkg/util/testing: each starts from a complete, valid
// object (the CRD's defaults, a plausible model) and takes overrides for what the test is about, so a test
// states only what matters to it.
import type { Allocation, PoolDefinition, PoolSnapshot } from '../../lambdas/core/ledger/ledger.js';
import type { InferenceModel, InferenceModelSpec } from '../../lambdas/core/inference-model.js';
import { newDeployment, type ManagedDeployment } from '../../lambdas/core/reconcile/ports.js';

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
  return {
    apiVersion: 'inference.eh-ops.io/v1alpha1',
    kind: 'InferenceModel',
    metadata: { name, namespace },
    spec: { modelName: name, memory: '16Gi', backendUrl: `http://${name}.models.svc:8000`, ...spec },
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
