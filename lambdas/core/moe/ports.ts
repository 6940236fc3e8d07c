import type { ModelRef } from '../inference-model.js';
import type { MoeWorkload } from './workload.js';

/** A Deployment labelled as an MoE workload whose declaration does not hold; it keeps what it holds. */
export interface InvalidWorkload {
  namespace: string;
  name: string;
  problems: string[];
}

export interface WorkloadListing {
  workloads: MoeWorkload[];
  invalid: InvalidWorkload[];
}

export interface ConfigMapState {
  namespace: string;
  name: string;
  data: Record<string, string>;
  /** Writes carry it, so a change made in between fails (ConflictError) instead of being overwritten. */
  resourceVersion: string;
}

/** Another writer changed the object between our read and our write: nothing was written. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** The cluster as the MoE budget repair and the runbook automation see it. */
export interface MoeCluster {
  /** One list call: every Deployment carrying the MoE role label, in scope. */
  listWorkloads(): Promise<WorkloadListing>;
  readConfigMap(namespace: string, name: string): Promise<ConfigMapState | undefined>;
  /** Merge-patches `data` only, conditioned on the resourceVersion that was read. */
  patchConfigMap(config: ConfigMapState, data: Record<string, string>): Promise<void>;
  /**
   * A rollout restart (`kubectl rollout restart`: a new restartedAt on the pod template), setting the
   * given environment variables on the workload's containers in the same write.
   */
  restart(workload: ModelRef, at: number, env: Record<string, string>): Promise<void>;
  /** Replicas and metadata annotations (null removes one) in one write; the pod template is untouched. */
  scale(workload: ModelRef, replicas: number, annotations?: Record<string, string | null>): Promise<void>;
  annotate(workload: ModelRef, annotations: Record<string, string | null>): Promise<void>;
}
