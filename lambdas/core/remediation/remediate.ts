import { formatDuration } from '../duration.js';
import { workloadKey, type MoeWorkload } from '../moe/workload.js';
import type { Alert, RemediationEvent } from './alerts.js';
import { plan } from './planners.js';
import {
  ALERT_MAX_AGE_MS,
  ALERT_MAX_SKEW_MS,
  type AlertOutcome,
  type RemediationConfig,
  type RemediationPorts,
  type RemediationReport,
} from './ports.js';
import { runStep } from './runner.js';
import { isStale, noteLatencyLow, scaleBackDue } from './scale-back.js';
import { fields } from './step.js';
import { isAutomated, resolveTarget, type AutomatedAlert } from './targets.js';
/**
 * What the remediation Lambda does with one delivery: each automated alert checked for its time, resolved
 * to its workload, planned (planners.ts) and run under a claim (runner.ts); the scheduled tick scales back
 * (scale-back.ts).
 */
export async function remediate(
  ports: RemediationPorts,
  config: RemediationConfig,
  event: RemediationEvent,
): Promise<RemediationReport> {
  if (event.kind === 'scheduled') return { results: await scaleBackDue(ports, config), rejected: [] };
  const report: RemediationReport = { results: [], rejected: event.rejected };
  for (const reason of event.rejected) ports.log.error('Alert payload rejected', { reason });
  const now = ports.clock();
  const automated: Alert[] = [];
  for (const alert of event.alerts) {
    const untimely = isAutomated(alert.name) ? timeProblem(alert, now) : undefined;
    const elsewhere = isAutomated(alert.name) ? otherCluster(alert, config.cluster) : undefined;
    if (!isAutomated(alert.name)) {
      report.results.push(result(alert, 'not-automated', `no automation for ${alert.name}`));
    } else if (untimely) {
      ports.log.error('Alert time outside the accepted window; nothing changed', {
        alert: alert.name,
        reason: untimely,
      });
      report.results.push(result(alert, 'untimely', untimely));
    } else if (elsewhere) {
      ports.log.info('Alert is for another cluster; nothing changed', {
        alert: alert.name,
        reason: elsewhere,
      });
      report.results.push(result(alert, 'other-cluster', elsewhere));
    } else automated.push(alert);
  }
  if (automated.length === 0) return report;
  const listing = await ports.cluster.listWorkloads();
  // Alerts of one group that point at the same workload (one per pod or GPU) are one action.
  const groups = new Map<string, { alert: Alert; workload: MoeWorkload }>();
  for (const alert of automated) {
    const target = resolveTarget(alert, listing);
    if (!target.workload) {
      ports.log.error('Alert names no declared MoE workload; nothing changed', {
        alert: alert.name,
        reason: target.problem,
      });
      report.results.push(result(alert, 'unknown-workload', target.problem));
      continue;
    }
    const key = `${alert.name}|${alert.status}|${workloadKey(target.workload)}`;
    const seen = groups.get(key);
    if (!seen || alert.startsAt < seen.alert.startsAt) groups.set(key, { alert, workload: target.workload });
  }
  for (const { alert, workload } of groups.values()) {
    const mode = config.modes[alert.name as AutomatedAlert];
    let outcome: { outcome: AlertOutcome; message: string };
    if (mode === 'disabled') {
      outcome = { outcome: 'disabled', message: `automation for ${alert.name} is disabled` };
      ports.log.info('Remediation disabled; nothing changed', { alert: alert.name, ...fields(workload) });
    } else {
      outcome = await act(ports, config, alert, workload, mode);
    }
    report.results.push({
      ...result(alert, outcome.outcome, outcome.message),
      workload: workloadKey(workload),
    });
  }
  return report;
}

/**
 * An alert is acted on only when the time it speaks of lies within hours of now: its start (firing) or its
 * end (resolved), and never an end before its start. The bound is well inside the 24 hours a claim is
 * remembered, so a replay cannot outlive the claim that makes it a duplicate.
 */
function timeProblem(alert: Alert, now: number): string | undefined {
  const at = alert.status === 'resolved' ? alert.endsAt! : alert.startsAt;
  const what = alert.status === 'resolved' ? 'ended' : 'started';
  if (alert.endsAt !== undefined && alert.endsAt < alert.startsAt) {
    return `${alert.name} ended (${iso(alert.endsAt)}) before it started (${iso(alert.startsAt)})`;
  }
  if (at > now + ALERT_MAX_SKEW_MS) return `${alert.name} ${what} in the future (${iso(at)})`;
  if (at < now - ALERT_MAX_AGE_MS) {
    return `${alert.name} ${what} more than ${formatDuration(ALERT_MAX_AGE_MS)} ago (${iso(at)})`;
  }
  return undefined;
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/** Why an alert is not this cluster's to act on (docs/remediation.md#clusters); undefined when it is. */
function otherCluster(alert: Alert, own: RemediationConfig['cluster']): string | undefined {
  if (!own) return undefined;
  const named = alert.labels.cluster;
  if (named === undefined) {
    return own.labelRequired
      ? `the alert has no cluster label and this control plane governs several clusters; ${own.name} acts only on its own`
      : undefined;
  }
  return named === own.name ? undefined : `the alert is for cluster ${named}, not ${own.name}`;
}

function result(alert: Alert, outcome: AlertOutcome, message: string) {
  return { alert: alert.name, status: alert.status, outcome, message };
}

async function act(
  ports: RemediationPorts,
  config: RemediationConfig,
  alert: Alert,
  workload: MoeWorkload,
  mode: 'enabled' | 'dry-run',
): Promise<{ outcome: AlertOutcome; message: string }> {
  const name = alert.name as AutomatedAlert;
  if (name === 'InferenceLatencyHigh' && alert.status === 'resolved')
    return noteLatencyLow(ports, alert, workload);
  if (alert.status === 'resolved')
    return { outcome: 'noted', message: `${name} resolved; nothing to undo automatically` };
  if (name === 'InferenceLatencyHigh' && isStale(alert, workload)) {
    return {
      outcome: 'stale',
      message: 'latency went low after this alert started: an old delivery, ignored',
    };
  }
  const step = await plan(ports, config, name, alert, workload, mode);
  const key = `${name}@${new Date(alert.startsAt).toISOString()}`;
  const trigger = `${name} (${alert.source}, started ${new Date(alert.startsAt).toISOString()}, episode ${alert.episode})`;
  return runStep(ports, config, { name, key, trigger, workload, mode, step });
}
