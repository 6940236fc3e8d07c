// Runs one planned Step under its claim: the duplicate check, the hourly limits, dry runs, the record of
// what happened, and the announcement.
import { workloadKey, type MoeWorkload } from '../moe/workload.js';
import {
  CLAIM_LEASE_MS,
  ClaimHeldError,
  type ActionRecord,
  type AlertOutcome,
  type PlannedChange,
  type RemediationConfig,
  type RemediationPorts,
} from './ports.js';
import { fields, messageOf, NothingWritten, PartlyWritten, type Step } from './step.js';
import type { AutomatedAlert } from './targets.js';
const ACTOR = 'inference-budget-control-plane (remediation Lambda)';
export async function runStep(
  ports: RemediationPorts,
  config: RemediationConfig,
  action: {
    name: AutomatedAlert | 'InferenceScaleBack';
    key: string;
    trigger: string;
    workload: MoeWorkload;
    mode: 'enabled' | 'dry-run';
    step: Step;
  },
): Promise<{ outcome: AlertOutcome; message: string }> {
  const { name, key, trigger, workload, mode, step } = action;
  const now = ports.clock();
  const claimRef = { workload: workloadKey(workload), key };
  const claim = await ports.claims.claim({
    ...claimRef,
    // A dry run never uses up the limit that real actions on the workload need.
    counted: step.counted && mode === 'enabled',
    limit: config.maxActionsPerHour,
    totalLimit: config.maxActionsPerHourTotal,
    now,
    leaseMs: CLAIM_LEASE_MS,
    plan: { before: step.before, after: step.after },
  });
  if (claim.status === 'duplicate') {
    ports.log.info('Remediation already handled; duplicate delivery ignored', {
      action: name,
      key,
      ...fields(workload),
    });
    return { outcome: 'duplicate', message: `${key} was already handled for ${workloadKey(workload)}` };
  }
  if (claim.status === 'in-progress') {
    // Thrown, so Lambda's async retry brings the delivery back once the other attempt's lease has run out.
    throw new ClaimHeldError(`${key} for ${workloadKey(workload)} is being handled by another attempt`);
  }
  const runbook = `${config.runbookBaseUrl}${name === 'InferenceScaleBack' ? 'InferenceLatencyHigh' : name}.md`;
  const base = { workload: workloadKey(workload), action: name, trigger, actor: ACTOR, at: now, runbook };
  const landed = claim.status === 'resumed' ? landedChange(claim.plan, step) : undefined;
  let record: ActionRecord;
  if (claim.status === 'rate-limited') {
    const limit =
      claim.scope === 'total'
        ? `the control plane already took ${config.maxActionsPerHourTotal} automatic action(s) across all workloads in the last hour`
        : `${workloadKey(workload)} already had ${config.maxActionsPerHour} automatic action(s) in the last hour`;
    record = {
      ...base,
      outcome: 'rate-limited',
      before: step.before,
      after: step.before,
      message: `Not acting: ${limit}. Planned: ${step.message}. Decide by hand (runbook).`,
      undo: [],
    };
  } else if (landed) {
    // The interrupted attempt's writes are there: they are recorded, never made a second time.
    record = {
      ...base,
      outcome: 'applied',
      before: landed.before,
      after: landed.after,
      message:
        'Applied by an earlier attempt that was interrupted before it recorded the change; nothing was written again. ' +
        'Check the workload: a restart that was part of the plan may not have happened (runbook).',
      undo: [],
    };
  } else if (!step.apply || mode === 'dry-run') {
    record = {
      ...base,
      outcome: step.apply ? 'dry-run' : step.blocked ? 'blocked' : 'notified',
      before: step.before,
      after: step.apply ? step.after : step.before,
      message: step.apply ? `Dry run, nothing changed. Would: ${step.message}` : step.message,
      undo: step.apply ? [] : step.undo,
    };
  } else {
    try {
      const blocked = await step.apply();
      record = blocked
        ? {
            ...base,
            outcome: 'blocked',
            before: step.before,
            after: step.before,
            message: blocked.message,
            undo: [],
          }
        : {
            ...base,
            outcome: 'applied',
            before: step.before,
            after: step.after,
            message: step.message,
            undo: step.undo,
          };
    } catch (error) {
      if (error instanceof NothingWritten) {
        await ports.claims.unclaim({ workload: workloadKey(workload), key });
        throw error.cause;
      }
      record = {
        ...base,
        outcome: 'failed',
        before: step.before,
        after: error instanceof PartlyWritten ? error.after : step.before,
        message: `Failed part-way: ${messageOf(error)}. Planned: ${step.message}. Check the workload by hand.`,
        undo: step.undo,
      };
    }
  }
  await ports.actions.record({ ...record, claim: key });
  await ports.claims.complete(claimRef);
  ports.log.info('Remediation action recorded', {
    action: name,
    outcome: record.outcome,
    ...fields(workload),
    before: record.before,
    after: record.after,
  });
  await announce(ports, record);
  return { outcome: record.outcome, message: record.message };
}

/**
 * Whether an interrupted attempt's change is already in place: some value it planned to change now reads
 * as its target. Then nothing is written again (a halved batch size must not be halved twice).
 */
function landedChange(previous: PlannedChange, step: Step): PlannedChange | undefined {
  const changed = Object.keys(previous.after).filter((key) => previous.before[key] !== previous.after[key]);
  const landed = changed.some(
    (key) => Object.hasOwn(step.before, key) && step.before[key] === previous.after[key],
  );
  return landed ? previous : undefined;
}

async function announce(ports: RemediationPorts, record: ActionRecord): Promise<void> {
  const subject = `[MoE remediation] ${record.action} ${record.outcome}: ${record.workload}`.slice(0, 100);
  const lines = [
    `What: ${record.message}`,
    `Outcome: ${record.outcome}`,
    `Workload: ${record.workload}`,
    `When: ${new Date(record.at).toISOString()}`,
    `Who: ${record.actor}, triggered by ${record.trigger}`,
    `Before: ${JSON.stringify(record.before)}`,
    `After: ${JSON.stringify(record.after)}`,
    record.undo.length > 0
      ? `Undo:\n${record.undo.map((u) => `  ${u}`).join('\n')}`
      : 'Undo: nothing was changed',
    `Runbook: ${record.runbook}`,
  ];
  try {
    await ports.announcer.announce(subject, lines.join('\n'));
  } catch (error) {
    // The change is made and recorded; a lost announcement must not make a redelivery repeat it.
    ports.log.error('Remediation announcement failed', {
      workload: record.workload,
      action: record.action,
      error: messageOf(error),
    });
  }
}
