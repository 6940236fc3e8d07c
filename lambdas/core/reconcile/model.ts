import type { Ledger } from '../ledger/model.js';

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

/** What the reconciler needs to know of a managed Deployment. */
export interface ManagedDeployment {
  namespace: string;
  name: string;
  replicas: number;
  readyReplicas: number;
  /** The Deployment reports ProgressDeadlineExceeded: pods never became ready. */
  failed: boolean;
  memoryAnnotation: string | undefined;
  scaledToZeroAt: number | undefined;
}

export interface ModelRef {
  namespace: string;
  name: string;
}

export interface KubernetesEvent {
  model: ModelRef;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The cluster as the reconciler sees it. One list call per kind per pass; writes are idempotent. */
export interface Cluster {
  listModels(): Promise<InferenceModel[]>;
  getModel(ref: ModelRef): Promise<InferenceModel | undefined>;
  listManagedDeployments(): Promise<ManagedDeployment[]>;
  getManagedDeployment(ref: ModelRef): Promise<ManagedDeployment | undefined>;
  addFinalizer(model: InferenceModel): Promise<void>;
  removeFinalizer(model: InferenceModel): Promise<void>;
  /** Creates the model's Deployment; an existing one is left alone (the next pass sees it). */
  createDeployment(model: InferenceModel, replicas: number): Promise<void>;
  /** Sets replicas, the memory annotation and (when scaling to zero) the scaled-to-zero time. */
  scaleDeployment(model: InferenceModel, replicas: number, at: number): Promise<void>;
  deleteDeployment(ref: ModelRef): Promise<void>;
  patchStatus(model: InferenceModel, status: InferenceModelStatus): Promise<void>;
  emitEvent(event: KubernetesEvent): Promise<void>;
}

/** Structured logs with the seed's messages; fields become JSON keys (`model`, `namespace`, ...). */
export interface ReconcileLog {
  info(message: string, fields: Record<string, unknown>): void;
  warn(message: string, fields: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

export interface ReconcilePorts {
  cluster: Cluster;
  ledger: Ledger;
  log: ReconcileLog;
  clock: () => number;
}

export function holderOf(ref: ModelRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export function poolOf(model: InferenceModel): string {
  return model.spec.nodeSelector[POOL_LABEL] ?? DEFAULT_POOL;
}

/** How a Deployment the control plane just created looks until the cluster reports on it. */
export function newDeployment(model: InferenceModel, replicas: number): ManagedDeployment {
  return {
    namespace: model.namespace,
    name: model.name,
    replicas,
    readyReplicas: 0,
    failed: false,
    memoryAnnotation: model.spec.memory,
    scaledToZeroAt: undefined,
  };
}

/** Asks for a prompt reconcile of one model (the event-driven Lambda), instead of waiting for the schedule. */
export interface ReconcileRequests {
  request(ref: ModelRef): Promise<void>;
}
