import { parseDuration } from '../duration.js';
import type { Allocation } from '../ledger/ledger.js';
import { DEFAULT_COOLDOWN_MS } from '../ledger/ledger.js';
import type { InferenceModel } from '../inference-model.js';
import type { ManagedDeployment } from './ports.js';
import { readyBefore } from './status.js';
import { isReady } from './view.js';

// The two clocks of a model's life: the idle clock (when it may be scaled to zero) and the start clock
// (when the control plane gives up starting it). Both read what the cluster and the ledger recorded, so
// every Lambda, and the warm-up API's answers, count alike.

/** The status stores whole seconds; a Ready time is rounded up so the idle clock never starts early. */
const STATUS_PRECISION_MS = 1000;

/**
 * When the model became Ready: the Ready condition's transition time, or now when the Deployment is
 * ready and the status does not say so yet. Undefined while it is not ready.
 */
export function readyAt(model: InferenceModel, deployment: ManagedDeployment | undefined, now: number) {
  if (!isReady(deployment)) return undefined;
  const ready = model.status.conditions?.find((c) => c.type === 'Ready');
  // Pods started again (scale-up, rollout) after the status said Ready became Ready later, at a moment
  // no pass has recorded yet (it may have missed them not ready): as good as now.
  if (ready?.status !== 'True' || readyBefore(ready, deployment!.scaledUpAt)) return now;
  const recorded = Date.parse(ready.lastTransitionTime) + STATUS_PRECISION_MS;
  return Number.isNaN(recorded) ? now : recorded;
}

/** Idle time counts from the latest of the allocation (or its claim), the last request and Ready. */
export function idleMsOf(allocation: Allocation, ready: number | undefined, now: number): number {
  return Math.max(0, now - idleSince(allocation, ready));
}

/**
 * How long until the idle clock passes `cooldownMs`. Not cooldown minus idleMsOf: a Ready time rounded
 * up to the status's precision lies ahead of now, and that wait counts too.
 */
export function untilIdleOutMs(
  allocation: Allocation,
  ready: number | undefined,
  cooldownMs: number,
  now: number,
): number {
  return Math.max(0, idleSince(allocation, ready) + cooldownMs - now);
}

function idleSince(allocation: Allocation, ready: number | undefined): number {
  return Math.max(allocation.since, allocation.lastActivity ?? 0, ready ?? 0);
}

export function cooldownMsOf(model: InferenceModel): number {
  try {
    return parseDuration(model.spec.cooldownPeriod);
  } catch {
    return DEFAULT_COOLDOWN_MS;
  }
}

export function startDeadlineMsOf(model: InferenceModel, defaultMs: number): number {
  if (!model.spec.startDeadline) return defaultMs;
  try {
    return parseDuration(model.spec.startDeadline);
  } catch {
    return defaultMs;
  }
}

/**
 * How long a starting model has been trying: from its scale-up (or its allocation, for a Deployment the
 * control plane did not scale), or from when it stopped being Ready, whichever is later.
 */
export function startingForMs(
  model: InferenceModel,
  deployment: ManagedDeployment,
  allocation: Allocation | undefined,
  now: number,
): number {
  const ready = model.status.conditions?.find((c) => c.type === 'Ready');
  const lostReadiness = ready?.status === 'False' ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  const began = Math.max(
    deployment.scaledUpAt ?? allocation?.since ?? now,
    Number.isNaN(lostReadiness) ? 0 : lostReadiness,
  );
  return Math.max(0, now - began);
}
