import type { Holding } from './view.js';
import { cooldownMsOf, idleMsOf, startingForMs } from './clocks.js';
import type { InferenceModel } from '../inference-model.js';
import type { ManagedDeployment } from './ports.js';
import { sameTemplate, podTemplateFor } from './pod-template.js';
import { isStarting, ownsTemplate, podPool } from './view.js';
import { poolOf } from '../inference-model.js';

/** What one pass should do for a live (not deleting) model; each is level-triggered and repeatable. */
export type Decision =
  | { kind: 'create'; replicas: number }
  | { kind: 'await-deployment' }
  | { kind: 'await-dependencies'; notReady: string[] }
  /** Budget held with no pods starting (no Deployment to scale, or dependencies that never come): past its cooldown it goes back. */
  | { kind: 'release-hold'; idleMs: number }
  | { kind: 'scale-to-zero'; idleMs: number; reason: 'idle timeout' | 'maxReplicas is 0' }
  | { kind: 'give-up-start'; startingForMs: number }
  | { kind: 'move-pool'; from: string }
  | { kind: 'finish-scale-down' }
  | { kind: 'finish-warm-up'; replicas: number }
  | { kind: 'adopt' }
  | { kind: 'resize'; bytes: number }
  | { kind: 'roll-out' }
  | { kind: 'steady' };

export interface DecisionInput {
  model: InferenceModel;
  memoryBytes: number;
  deployment: ManagedDeployment | undefined;
  /** What the model holds, in whichever pool. */
  holding: Holding | undefined;
  /** Dependencies (same namespace) that are not Ready now. */
  dependenciesNotReady: string[];
  /** Whether the model may be scaled to zero for idleness now (a scheduled pass, and no running model needs it). */
  mayIdleOut: boolean;
  /** When it became Ready (clocks.readyAt), if it is. */
  readyAt: number | undefined;
  startDeadlineMs: number;
  now: number;
}

export function desiredReplicas(model: InferenceModel): number {
  return Math.max(0, model.spec.maxReplicas);
}

export function decide(input: DecisionInput): Decision {
  const { model, deployment, holding, now } = input;
  const replicas = desiredReplicas(model);
  const allocation = holding?.allocation;
  const idleMs = allocation && idleMsOf(allocation, input.readyAt, now);
  const pastCooldown = idleMs !== undefined && idleMs > cooldownMsOf(model);

  if (!deployment) {
    // Budget without a Deployment may be a create in flight: it goes back only after the cooldown.
    if (allocation && pastCooldown) return { kind: 'release-hold', idleMs: idleMs! };
    if (!model.spec.containerImage) return { kind: 'await-deployment' };
    if (replicas === 0) return { kind: 'create', replicas: 0 };
    if (input.dependenciesNotReady.length > 0) {
      return { kind: 'await-dependencies', notReady: input.dependenciesNotReady };
    }
    return { kind: 'create', replicas };
  }

  if (deployment.replicas === 0) {
    // No rollout at zero: the scale-up writes the template its budget was taken for, and a rollout
    // racing a warm-up could move starting pods to a pool they hold no budget in.
    if (!allocation) return { kind: 'steady' };
    // The allocation is older than the last scale-to-zero: that scale-down stopped before releasing.
    if (deployment.scaledToZeroAt !== undefined && deployment.scaledToZeroAt > allocation.since) {
      return { kind: 'finish-scale-down' };
    }
    // Otherwise a warm-up allocated (or claimed) and is scaling up, or stopped before it did. One that
    // read the model before an edit (maxReplicas 0, another pool) may still scale up on this budget: it
    // goes back after the cooldown, not at once.
    if (replicas === 0 || holding.pool !== poolOf(model)) {
      return pastCooldown ? { kind: 'release-hold', idleMs: idleMs! } : { kind: 'steady' };
    }
    if (input.dependenciesNotReady.length > 0) {
      if (pastCooldown) return { kind: 'release-hold', idleMs: idleMs! };
      return { kind: 'await-dependencies', notReady: input.dependenciesNotReady };
    }
    return { kind: 'finish-warm-up', replicas };
  }

  const runsIn = podPool(model, deployment);
  if (runsIn !== poolOf(model)) return { kind: 'move-pool', from: runsIn };
  if (!allocation || holding.pool !== runsIn) return { kind: 'adopt' };
  if (replicas === 0) return { kind: 'scale-to-zero', idleMs: idleMs!, reason: 'maxReplicas is 0' };
  if (isStarting(deployment)) {
    const startingFor = startingForMs(model, deployment, allocation, now);
    if (startingFor > input.startDeadlineMs) return { kind: 'give-up-start', startingForMs: startingFor };
  } else if (input.mayIdleOut && pastCooldown) {
    return { kind: 'scale-to-zero', idleMs: idleMs!, reason: 'idle timeout' };
  }
  // A memory edit, or a note of the pods' size that a racing resize left behind: settle both.
  if (allocation.bytes !== input.memoryBytes || deployment.memoryAnnotation !== model.spec.memory) {
    return { kind: 'resize', bytes: input.memoryBytes };
  }
  if (templateDrift(model, deployment)) return { kind: 'roll-out' };
  return { kind: 'steady' };
}

/** A Deployment the control plane owns whose pod template no longer matches the model's spec. */
export function templateDrift(model: InferenceModel, deployment: ManagedDeployment): boolean {
  return ownsTemplate(model) && !sameTemplate(deployment.template, podTemplateFor(model));
}
