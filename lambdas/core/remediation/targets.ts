import type { WorkloadListing } from '../moe/ports.js';
import type { MoeRole, MoeWorkload } from '../moe/workload.js';
import type { Alert } from './alerts.js';

/** The playbook alerts the control plane acts on, and the workload role each is about. */
export const AUTOMATED_ALERTS = {
  GPUMemoryUsageHigh: 'trainer',
  ExpertLoadImbalance: 'trainer',
  MoETrainingLossHigh: 'trainer',
  InferenceLatencyHigh: 'inference',
} as const satisfies Record<string, MoeRole>;
export type AutomatedAlert = keyof typeof AUTOMATED_ALERTS;

export function isAutomated(name: string): name is AutomatedAlert {
  return Object.hasOwn(AUTOMATED_ALERTS, name);
}

export type Target = { workload: MoeWorkload; problem: undefined } | { workload: undefined; problem: string };

/**
 * Which declared workload an alert is about, from its labels (docs/remediation.md): `namespace` narrows,
 * then `deployment`, `job` (`name` or `namespace/name`) or `pod` (`<deployment>-<hash>-<id>`) names it.
 */
export function resolveTarget(alert: Alert, listing: WorkloadListing): Target {
  const role = AUTOMATED_ALERTS[alert.name as AutomatedAlert];
  const { namespace, deployment, job, pod } = alert.labels;
  if (deployment === undefined && job === undefined && pod === undefined) {
    return miss(`alert ${alert.name} has no deployment, job or pod label to tell which ${role} it is about`);
  }
  const inNamespace = (w: { namespace: string }) => namespace === undefined || w.namespace === namespace;
  const named = (w: { namespace: string; name: string }) =>
    deployment !== undefined
      ? w.name === deployment
      : job !== undefined
        ? w.name === job || `${w.namespace}/${w.name}` === job
        : new RegExp(`^${w.name.replace(/\./g, '\\.')}-[a-z0-9]{1,10}-[a-z0-9]{5}$`).test(pod ?? '');
  const matches = listing.workloads.filter((w) => w.role === role && inNamespace(w) && named(w));
  const labelText = Object.entries({ namespace, deployment, job, pod })
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');
  if (matches.length === 1) return { workload: matches[0]!, problem: undefined };
  if (matches.length > 1) {
    return miss(
      `alert ${alert.name} (${labelText}) matches ${matches.length} ${role} workloads (${matches.map((w) => `${w.namespace}/${w.name}`).join(', ')}): add a namespace label`,
    );
  }
  const invalid = listing.invalid.find((w) => inNamespace(w) && named(w));
  if (invalid) {
    return miss(
      `alert ${alert.name} (${labelText}) is about ${invalid.namespace}/${invalid.name}, whose declaration is invalid: ${invalid.problems.join('; ')}`,
    );
  }
  return miss(
    `alert ${alert.name} (${labelText}) matches no declared MoE ${role} workload (docs/moe-workloads.md)`,
  );
}

function miss(problem: string): Target {
  return { workload: undefined, problem };
}
