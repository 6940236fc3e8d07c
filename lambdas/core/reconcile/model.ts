import type { Ledger } from '../ledger/model.js';
import type { PoolPolicy } from '../nodes/pool-policies.js';
import type { AdmissionQueue } from '../queue/model.js';
import { podTemplateFor } from './pod-template.js';

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
/** How long a model may take to become Ready before the control plane gives up and releases its budget. */
export const DEFAULT_START_DEADLINE_MS = 15 * 60 * 1000;

export type ConditionReason =
  | 'Deploying'
  | 'Deployed'
  | 'Failed'
  | 'InsufficientMemory'
  | 'ScaledToZero'
  | 'Pending'
  | 'Terminating'
  | 'Queued';

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
  /** Who may evict whom and the admission queue's order (docs/warmup-api.md); unset is 0. */
  priority?: number;
  /** Overrides the pool's eviction minIdle for this model (a duration, e.g. `30m`). */
  evictionMinIdle?: string;
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

/**
 * The pod template fields the control plane sets on a Deployment it owns, in canonical form (see
 * pod-template.ts): a difference from the model's spec is an edit that must roll out.
 */
export interface PodTemplate {
  image: string;
  modelName: string;
  nodeSelector: Record<string, string>;
  requests: Record<string, string>;
  limits: Record<string, string>;
}

/** What the reconciler needs to know of a managed Deployment. */
export interface ManagedDeployment {
  namespace: string;
  name: string;
  replicas: number;
  readyReplicas: number;
  /** The Deployment reports ProgressDeadlineExceeded: pods never became ready. */
  failed: boolean;
  /** The memory its pods were given (annotation): the size their allocation must have. */
  memoryAnnotation: string | undefined;
  scaledToZeroAt: number | undefined;
  scaledUpAt: number | undefined;
  /** Why the control plane gave up starting it (reason `Failed`), until the next scale-up. */
  startFailure: string | undefined;
  /** The memory of a grow the pool refused, told once with an Event; cleared when the size settles. */
  resizeRefusedFor: string | undefined;
  /** Its pod template as the cluster holds it (the `inference-server` container, or the first). */
  template: PodTemplate;
}

/** Notes on a Deployment's own metadata: no pod restarts. A null removes the note. */
export interface DeploymentNotes {
  memory?: string;
  resizeRefusedFor?: string | null;
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
  /**
   * Sets replicas and the memory annotation. Scaling up stamps the scaled-up time, clears a start
   * failure and writes the model's pod template (for a Deployment it owns), so the pods start on the
   * spec the caller budgeted for, whatever a concurrent edit wrote; scaling to zero stamps the
   * scaled-to-zero time and records `startFailure` when given.
   */
  scaleDeployment(model: InferenceModel, replicas: number, at: number, startFailure?: string): Promise<void>;
  /**
   * Writes the model's pod template (podTemplateFor) to its Deployment: Kubernetes recreates the pods.
   * Stamps the scaled-up time too: the pods start again at `at`.
   */
  rollOut(model: InferenceModel, at: number): Promise<void>;
  annotateDeployment(ref: ModelRef, notes: DeploymentNotes): Promise<void>;
  /**
   * Why pods of managed Deployments are not ready, in the cluster's own words (the scheduler's reason a
   * pod cannot be placed, an image pull error, a crash loop), by holder; one list call. With a ref, that
   * model's pods only.
   */
  startProblems(ref?: ModelRef): Promise<Map<string, string>>;
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
  /** Eviction and queue settings by pool (NODE_POOLS); a pool missing here has neither. */
  poolPolicies?: ReadonlyMap<string, PoolPolicy>;
  /** The admission queues; absent: a warm-up that does not fit is refused, as before queues existed. */
  queue?: AdmissionQueue;
}

export function holderOf(ref: ModelRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export function priorityOf(model: InferenceModel): number {
  return model.spec.priority ?? 0;
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
    scaledUpAt: undefined,
    startFailure: undefined,
    resizeRefusedFor: undefined,
    template: podTemplateFor(model),
  };
}

/** Asks for a prompt reconcile of one model (the event-driven Lambda), instead of waiting for the schedule. */
export interface ReconcileRequests {
  request(ref: ModelRef): Promise<void>;
}
