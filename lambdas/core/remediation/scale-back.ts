// Latency-driven scale-up's other half: a resolved InferenceLatencyHigh starts the scale-back clock, and
// the scheduled tick returns workloads whose latency stayed low to the replicas they had before.
import { formatDuration } from '../duration.js';
import { fenceOf } from '../ledger/rules.js';
import { MOE_ANNOTATIONS, replicaHolder, workloadKey, type MoeWorkload } from '../moe/workload.js';
import type { Alert } from './alerts.js';
import {
  ClaimHeldError,
  type AlertOutcome,
  type RemediationConfig,
  type RemediationPorts,
  type RemediationReport,
} from './ports.js';
import { runStep } from './runner.js';
import { fields, NothingWritten, type Step } from './step.js';
/** A latency alert that started before latency was last seen low again is an old delivery. */
export function isStale(alert: Alert, workload: MoeWorkload): boolean {
  const lowSince = workload.scaleBack?.lowSince;
  return lowSince !== undefined && alert.startsAt <= lowSince;
}

/** Resolved: the scale-back clock starts (a later scheduled tick scales back). */
export async function noteLatencyLow(
  ports: RemediationPorts,
  alert: Alert,
  workload: MoeWorkload,
): Promise<{ outcome: AlertOutcome; message: string }> {
  const scaleBack = workload.scaleBack;
  const endsAt = alert.endsAt!;
  if (!scaleBack) return { outcome: 'noted', message: 'no extra replicas to scale back' };
  if (scaleBack.highSince !== undefined && endsAt < scaleBack.highSince) {
    return {
      outcome: 'stale',
      message: 'latency went high again after this alert ended: an old delivery, ignored',
    };
  }
  if (scaleBack.lowSince !== undefined && scaleBack.lowSince >= endsAt) {
    return { outcome: 'duplicate', message: 'latency already recorded low since then' };
  }
  await ports.cluster.annotate(workload, {
    [MOE_ANNOTATIONS.latencyLowSince]: new Date(endsAt).toISOString(),
  });
  ports.log.info('Inference latency low again; scale-back scheduled', {
    ...fields(workload),
    lowSince: new Date(endsAt).toISOString(),
  });
  return { outcome: 'noted', message: `latency low since ${new Date(endsAt).toISOString()}` };
}

/** The scheduled tick: inference workloads whose latency has stayed low long enough go back to their baseline. */
export async function scaleBackDue(
  ports: RemediationPorts,
  config: RemediationConfig,
): Promise<RemediationReport['results']> {
  const now = ports.clock();
  const mode = config.modes.InferenceLatencyHigh;
  const { workloads } = await ports.cluster.listWorkloads();
  const results: RemediationReport['results'] = [];
  for (const workload of workloads) {
    const scaleBack = workload.scaleBack;
    if (workload.role !== 'inference' || !scaleBack || scaleBack.lowSince === undefined) continue;
    if (now - scaleBack.lowSince < config.latencyScaleBackMs || mode === 'disabled') continue;
    const target = Math.min(scaleBack.replicas, workload.replicas);
    const clear = {
      [MOE_ANNOTATIONS.scaleBackReplicas]: null,
      [MOE_ANNOTATIONS.latencyHighSince]: null,
      [MOE_ANNOTATIONS.latencyLowSince]: null,
    };
    const step: Step = {
      // Returning to the baseline the automation started from is never held back by the hourly limit.
      counted: false,
      before: { replicas: String(workload.replicas) },
      after: { replicas: String(target) },
      message:
        `Latency of ${workloadKey(workload)} has stayed low for ${formatDuration(now - scaleBack.lowSince)}: ` +
        `scaled back from ${workload.replicas} to ${target} replicas and released their budget`,
      undo: [
        `kubectl scale deployment/${workload.name} -n ${workload.namespace} --replicas=${workload.replicas}`,
      ],
      apply: async () => {
        await ports.cluster.scale(workload, target, clear).catch((error: unknown) => {
          throw new NothingWritten(error);
        });
        // Fenced to what was held right after the scale-down: nothing re-allocated since is freed.
        const pool = await ports.ledger.readPool(workload.pool);
        for (let replica = target; replica < workload.replicas; replica++) {
          const holder = replicaHolder(workload, replica);
          const held = pool.allocations.find((a) => a.holder === holder);
          if (held) await ports.ledger.release({ pool: workload.pool, holder, fence: fenceOf(held) });
        }
      },
    };
    const outcome = await runStep(ports, config, {
      name: 'InferenceScaleBack',
      key: `scale-back@${new Date(scaleBack.lowSince).toISOString()}`,
      trigger: `schedule (InferenceLatencyHigh resolved at ${new Date(scaleBack.lowSince).toISOString()})`,
      workload,
      mode,
      step,
    }).catch((error: unknown) => {
      // Another tick is scaling this workload back: the next tick sees how it ended.
      if (!(error instanceof ClaimHeldError)) throw error;
      return { outcome: 'duplicate' as const, message: error.message };
    });
    results.push({
      alert: 'InferenceScaleBack',
      status: 'scheduled',
      workload: workloadKey(workload),
      ...outcome,
    });
  }
  return results;
}
