/**
 * The InferenceModel resource (deploy/crd/) as the control plane reads it, the names SPEC.md gives it
 * and the Deployments made for it, and the identities derived from it: one home for every caller.
 */

/** Names from SPEC.md: the API group, the finalizer, and the labels and annotations of managed Deployments. */
export const API_GROUP = 'inference.eh-ops.io';
export const FINALIZER = `${API_GROUP}/finalizer`;
export const POOL_LABEL = 'inference-pool';
export const DEFAULT_POOL = 'default';
export const MANAGED_LABEL = `${API_GROUP}/managed`;
export const MODEL_LABEL = `${API_GROUP}/model`;
export const MEMORY_ANNOTATION = `${API_GROUP}/memory`;
/** On the Deployment's own metadata (never the pod template): when the control plane scaled it to zero. */
export const SCALED_TO_ZERO_ANNOTATION = `${API_GROUP}/scaled-to-zero-at`;
/** On the Deployment's own metadata: when the control plane last scaled it up from zero (starts the start deadline). */
export const SCALED_UP_ANNOTATION = `${API_GROUP}/scaled-up-at`;
/** On the Deployment's own metadata: why the control plane gave up starting it, until the next scale-up. */
export const START_FAILURE_ANNOTATION = `${API_GROUP}/start-failure`;
/** On the Deployment's own metadata: the memory a refused grow asked for, so the refusal is told once. */
export const RESIZE_REFUSED_ANNOTATION = `${API_GROUP}/resize-refused`;

export type ConditionReason =
  'Deploying' | 'Deployed' | 'Failed' | 'InsufficientMemory' | 'ScaledToZero' | 'Pending' | 'Terminating';

export interface ResourceSpec {
  cpu?: string;
  memory?: string;
  gpu?: number;
}

export interface InferenceModelSpec {
  modelName: string;
  memory: string;
  backendUrl: string;
  nodeSelector: Record<string, string>;
  cooldownPeriod: string;
  maxReplicas: number;
  dependencies: string[];
  containerImage: string;
  resources: { requests?: ResourceSpec; limits?: ResourceSpec };
  /** Overrides the control plane's start deadline for this model (a duration, e.g. `30m`). */
  startDeadline?: string;
}

export interface Condition {
  type: 'Ready' | 'Available';
  status: 'True' | 'False' | 'Unknown';
  reason: ConditionReason;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export interface InferenceModelStatus {
  ready?: boolean;
  replicas?: number;
  observedPeakMemory?: string;
  utilizationPercent?: number;
  recommendation?: string;
  lastObservation?: string;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface InferenceModel {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  deleting: boolean;
  finalizers: string[];
  spec: InferenceModelSpec;
  status: InferenceModelStatus;
}

export interface ModelRef {
  namespace: string;
  name: string;
}

/** The model's name in the ledger: `<namespace>/<name>`. */
export function holderOf(ref: ModelRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export function poolOf(model: InferenceModel): string {
  return model.spec.nodeSelector[POOL_LABEL] ?? DEFAULT_POOL;
}
