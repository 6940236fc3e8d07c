import type { Condition, ConditionReason, InferenceModel, InferenceModelStatus } from '../inference-model.js';
import type { ManagedDeployment } from './ports.js';

/** Why a model is not running, when the deployment alone does not say. */
export type Hold =
  | { reason: 'InsufficientMemory'; message: string }
  | { reason: 'Pending'; message: string }
  | { reason: 'Terminating'; message: string }
  /** Starting, with the cluster's own words for why the pods are not ready yet. */
  | { reason: 'Deploying'; message: string };

/**
 * The status fields the reconciler owns. `replicas` is what the Deployment runs (or is starting), as
 * the seed's `inference_model_replicas` and its ModelNotReady alert read it; `ready` needs a ready
 * replica, so `ready` implies `replicas > 0`, and the Ready condition always equals `ready`.
 */
export function deriveStatus(
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  hold: Hold | undefined,
  now: number,
): InferenceModelStatus {
  const replicas = deployment?.replicas ?? 0;
  const ready = replicas > 0 && (deployment?.readyReplicas ?? 0) > 0 && hold?.reason !== 'Terminating';
  const { reason, message } = explain(model, deployment, hold, ready);
  const conditions = (['Ready', 'Available'] as const).map((type) =>
    condition(
      model,
      { type, status: ready ? 'True' : 'False', reason, message },
      now,
      deployment?.scaledUpAt,
    ),
  );
  return { ready, replicas, conditions, observedGeneration: model.generation };
}

function explain(
  model: InferenceModel,
  deployment: ManagedDeployment | undefined,
  hold: Hold | undefined,
  ready: boolean,
): { reason: ConditionReason; message: string } {
  if (hold?.reason === 'Terminating') return hold;
  if (ready) return { reason: 'Deployed', message: `${model.spec.modelName} is serving` };
  if (hold) return hold;
  if (deployment && deployment.replicas === 0 && deployment.startFailure) {
    return { reason: 'Failed', message: deployment.startFailure };
  }
  if (deployment?.failed) {
    return { reason: 'Failed', message: `Deployment ${deployment.name} exceeded its progress deadline` };
  }
  if (deployment && deployment.replicas > 0) {
    return { reason: 'Deploying', message: `waiting for Deployment ${deployment.name} to become ready` };
  }
  return { reason: 'ScaledToZero', message: 'scaled to zero; a warm-up request starts it' };
}

/**
 * Keeps lastTransitionTime when the condition's status did not change, as Kubernetes conventions ask;
 * except a Ready recorded before the pods last started (a restart no pass saw, between two passes):
 * the model became Ready again since, and its idle clock counts from then (clocks.readyAt).
 */
function condition(
  model: InferenceModel,
  next: Pick<Condition, 'type' | 'status' | 'reason' | 'message'>,
  now: number,
  startedAt: number | undefined,
): Condition {
  const previous = model.status.conditions?.find((c) => c.type === next.type);
  const kept = previous && previous.status === next.status && !readyBefore(previous, startedAt);
  const lastTransitionTime = kept ? previous.lastTransitionTime : kubernetesTime(now);
  return { ...next, lastTransitionTime, observedGeneration: model.generation };
}

/** A Ready=True recorded before `startedAt`: the pods it was about are gone. */
export function readyBefore(
  condition: Pick<Condition, 'status' | 'lastTransitionTime'>,
  startedAt: number | undefined,
) {
  return (
    condition.status === 'True' &&
    startedAt !== undefined &&
    Date.parse(condition.lastTransitionTime) + 1000 <= startedAt
  );
}

/** RFC 3339 with whole seconds, as Kubernetes stores metav1.Time. */
export function kubernetesTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * True when patching would change nothing the reconciler owns: no write, no new resourceVersion. Compares
 * values, not serializations: the apiserver returns condition keys in its own order.
 */
export function statusUnchanged(model: InferenceModel, next: InferenceModelStatus): boolean {
  const current = model.status;
  return (
    current.ready === next.ready &&
    current.replicas === next.replicas &&
    current.observedGeneration === next.observedGeneration &&
    conditionsKey(current.conditions) === conditionsKey(next.conditions)
  );
}

function conditionsKey(conditions: Condition[] | undefined): string {
  return JSON.stringify(
    (conditions ?? []).map((c) => [
      c.type,
      c.status,
      c.reason,
      c.message,
      c.observedGeneration,
      Math.floor(Date.parse(c.lastTransitionTime) / 1000),
    ]),
  );
}
