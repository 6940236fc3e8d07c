import type { InferenceModel, InferenceModelStatus, ModelRef } from '../inference-model.js';
import type { Ledger } from '../ledger/ledger.js';
import type { PoolPolicy } from '../nodes/pool-policies.js';
import type { AdmissionQueue } from '../queue/model.js';
import { podTemplateFor } from './pod-template.js';

/** How long a model may take to become Ready before the control plane gives up and releases its budget. */
export const DEFAULT_START_DEADLINE_MS = 15 * 60 * 1000;

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
  /** Creates the Deployment; one created with replicas is stamped as scaled up `at`, as a scale-up is. */
  createDeployment(model: InferenceModel, replicas: number, at: number): Promise<void>;
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

/** How a Deployment the control plane created `at` looks until the cluster reports on it. */
export function newDeployment(model: InferenceModel, replicas: number, at: number): ManagedDeployment {
  return {
    namespace: model.namespace,
    name: model.name,
    replicas,
    readyReplicas: 0,
    failed: false,
    memoryAnnotation: model.spec.memory,
    scaledToZeroAt: undefined,
    scaledUpAt: replicas > 0 ? at : undefined,
    startFailure: undefined,
    resizeRefusedFor: undefined,
    template: podTemplateFor(model),
  };
}

/** Asks for a prompt reconcile of one model (the event-driven Lambda), instead of waiting for the schedule. */
export interface ReconcileRequests {
  request(ref: ModelRef): Promise<void>;
}
