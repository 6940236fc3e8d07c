import { parseDuration } from '../duration.js';
import type { Allocation } from '../ledger/model.js';
import { idleMs } from '../ledger/rules.js';
import type { InferenceModel, ManagedDeployment } from './model.js';

/** What one pass should do for a live (not deleting) model; each is level-triggered and repeatable. */
export type Decision =
  | { kind: 'create'; replicas: number }
  | { kind: 'await-deployment' }
  | { kind: 'await-dependencies'; notReady: string[] }
  | { kind: 'scale-to-zero'; idleMs: number }
  | { kind: 'finish-scale-down' }
  | { kind: 'finish-warm-up'; replicas: number }
  | { kind: 'adopt' }
  | { kind: 'resize'; bytes: number }
  | { kind: 'steady' };

export interface DecisionInput {
  model: InferenceModel;
  memoryBytes: number;
  deployment: ManagedDeployment | undefined;
  allocation: Allocation | undefined;
  /** Dependencies (same namespace) that are not Ready now. */
  dependenciesNotReady: string[];
  /** Whether a running model depends on this one: a dependency in use is never idle. */
  neededByRunningModel: boolean;
  now: number;
}

export function desiredReplicas(model: InferenceModel): number {
  return Math.max(0, model.spec.maxReplicas);
}

/** A model is starting while it should run but no replica is ready yet: never idle then. */
export function isStarting(deployment: ManagedDeployment): boolean {
  return deployment.replicas > 0 && deployment.readyReplicas === 0;
}

export function decide(input: DecisionInput): Decision {
  const { model, deployment, allocation, now } = input;
  const replicas = desiredReplicas(model);

  if (!deployment) {
    if (!model.spec.containerImage) return { kind: 'await-deployment' };
    if (replicas === 0) return { kind: 'create', replicas: 0 };
    if (input.dependenciesNotReady.length > 0) {
      return { kind: 'await-dependencies', notReady: input.dependenciesNotReady };
    }
    return { kind: 'create', replicas };
  }

  if (deployment.replicas === 0) {
    if (!allocation) return { kind: 'steady' };
    // The allocation is older than the last scale-to-zero: that scale-down stopped before releasing.
    if (deployment.scaledToZeroAt !== undefined && deployment.scaledToZeroAt >= allocation.since) {
      return { kind: 'finish-scale-down' };
    }
    // Otherwise a warm-up allocated and stopped before scaling up.
    if (input.dependenciesNotReady.length > 0) {
      return { kind: 'await-dependencies', notReady: input.dependenciesNotReady };
    }
    return replicas > 0 ? { kind: 'finish-warm-up', replicas } : { kind: 'finish-scale-down' };
  }

  if (!allocation) return { kind: 'adopt' };
  if (allocation.bytes !== input.memoryBytes) return { kind: 'resize', bytes: input.memoryBytes };
  if (replicas === 0) return { kind: 'scale-to-zero', idleMs: idleMs(allocation, now) };
  if (!isStarting(deployment) && !input.neededByRunningModel) {
    const idle = idleMs(allocation, now);
    if (idle > parseDuration(model.spec.cooldownPeriod)) return { kind: 'scale-to-zero', idleMs: idle };
  }
  return { kind: 'steady' };
}
