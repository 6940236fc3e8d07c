import { formatDuration } from '../duration.js';
import type { BlockingAllocation, Ledger, PoolSnapshot } from '../ledger/ledger.js';
import { LedgerError } from '../ledger/ledger.js';
import { fenceOf, findBlocking } from '../ledger/rules.js';
import { formatQuantity } from '../quantity.js';
import type { ReconcileLog } from '../reconcile/ports.js';
import { ConflictError, type ConfigMapState, type MoeCluster } from '../moe/ports.js';
import { MOE_ANNOTATIONS, replicaHolder, workloadKey, type MoeWorkload } from '../moe/workload.js';
import type { Alert, RemediationEvent } from './alerts.js';
import {
  checkpointToRestartFrom,
  planCapacityFactor,
  planGpuMemoryRelief,
  planLoadBalanceCoef,
  type KeyChange,
} from './plans.js';
import { isAutomated, resolveTarget, type AutomatedAlert } from './targets.js';

export type ActionMode = 'enabled' | 'dry-run' | 'disabled';

export interface RemediationConfig {
  modes: Record<AutomatedAlert, ActionMode>;
  /** Counted actions per workload in any rolling hour. */
  maxActionsPerHour: number;
  /** Counted actions across all workloads in any rolling hour. */
  maxActionsPerHourTotal: number;
  batchSizeFloor: number;
  loadBalanceLossCoefMax: number;
  /** How long latency must stay low before the extra inference replicas go. */
  latencyScaleBackMs: number;
  /** MoETrainingLossHigh also restarts the trainer from its newest checkpoint (default: notify only). */
  restartOnTrainingLossHigh: boolean;
  /** Prefix for runbook links in announcements (e.g. the repository's blob URL); default repository-relative. */
  runbookBaseUrl: string;
}

/** What one action did; the audit record and the announcement are made from it. */
export interface ActionRecord {
  workload: string;
  action: AutomatedAlert | 'InferenceScaleBack';
  /** applied / dry-run: the change (or what it would be); the others changed nothing. */
  outcome: 'applied' | 'dry-run' | 'notified' | 'blocked' | 'rate-limited' | 'failed';
  /** Who asked: the alert (and its source) or the schedule. */
  trigger: string;
  actor: string;
  at: number;
  before: Record<string, string | null>;
  after: Record<string, string | null>;
  message: string;
  undo: string[];
  runbook: string;
}

/** What an action was planned to change; kept with its claim so that a resumed attempt can tell. */
export interface PlannedChange {
  before: Record<string, string | null>;
  after: Record<string, string | null>;
}

export type ClaimResult =
  | { status: 'claimed' }
  /** An earlier attempt claimed the key and did not finish before its lease ran out (a timeout, a crash). */
  | { status: 'resumed'; plan: PlannedChange }
  | { status: 'duplicate' }
  /** Another attempt holds the key and its lease has not run out: this delivery must come back later. */
  | { status: 'in-progress' }
  | { status: 'rate-limited'; scope: 'workload' | 'total' };

/**
 * Acting at most once per alert episode, at most N times per workload and M times in all per hour: one
 * conditional write. A claim is `in-progress` under a lease until `complete`, so an attempt that dies
 * between claim, action and record leaves the key to the next delivery once the lease has run out.
 */
export interface ActionClaims {
  claim(request: {
    workload: string;
    key: string;
    counted: boolean;
    limit: number;
    totalLimit: number;
    now: number;
    leaseMs: number;
    plan: PlannedChange;
  }): Promise<ClaimResult>;
  /** The action and its record are done: the key is a duplicate from now on. */
  complete(request: { workload: string; key: string }): Promise<void>;
  /** Gives back a claim whose action wrote nothing, so the redelivery can act. */
  unclaim(request: { workload: string; key: string }): Promise<void>;
}

/** The remediation Lambda's timeout is one minute: a live attempt never holds a claim longer than this. */
export const CLAIM_LEASE_MS = 75_000;
/** Alert times further from now than these are not acted on (a resolved alert from 2099, a replay). */
export const ALERT_MAX_AGE_MS = 6 * 3600_000;
export const ALERT_MAX_SKEW_MS = 5 * 60_000;

/** Raised when another attempt holds the action's claim: the delivery is retried after the lease. */
export class ClaimHeldError extends Error {
  override readonly name = 'ClaimHeldError';
}

export interface ActionLog {
  /** Appends the record of the claim `claim`; recording the same claim again changes nothing. */
  record(record: ActionRecord & { claim: string }): Promise<void>;
}

export interface Announcer {
  announce(subject: string, message: string): Promise<void>;
}

export interface RemediationPorts {
  cluster: MoeCluster;
  ledger: Ledger;
  claims: ActionClaims;
  actions: ActionLog;
  announcer: Announcer;
  log: ReconcileLog;
  clock: () => number;
}

export type AlertOutcome =
  | ActionRecord['outcome']
  | 'duplicate'
  | 'disabled'
  | 'stale'
  | 'untimely'
  | 'not-automated'
  | 'unknown-workload'
  | 'noted';

export interface RemediationReport {
  results: { alert: string; status: string; workload?: string; outcome: AlertOutcome; message: string }[];
  rejected: string[];
}

export const ACTOR = 'inference-budget-control-plane (remediation Lambda)';
const CHECKPOINT_ENV = 'CHECKPOINT_PATH';

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
    if (!isAutomated(alert.name)) {
      report.results.push(result(alert, 'not-automated', `no automation for ${alert.name}`));
    } else if (untimely) {
      ports.log.error('Alert time outside the accepted window; nothing changed', {
        alert: alert.name,
        reason: untimely,
      });
      report.results.push(result(alert, 'untimely', untimely));
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

function result(alert: Alert, outcome: AlertOutcome, message: string) {
  return { alert: alert.name, status: alert.status, outcome, message };
}

// ---- one action --------------------------------------------------------------------------------------

interface Step {
  /** Counted against the hourly limit: it changes the workload. Notifications alone are not. */
  counted: boolean;
  before: Record<string, string | null>;
  after: Record<string, string | null>;
  message: string;
  undo: string[];
  /** Performs the change; returns what happened if it was not applied as planned (blocked). */
  apply?: () => Promise<{ outcome: 'blocked'; message: string } | void>;
  /** A notification that the budget stands in the way. */
  blocked?: boolean;
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

async function runStep(
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

/** The change failed before its first write: the claim is given back and the delivery retried. */
class NothingWritten extends Error {
  constructor(override readonly cause: unknown) {
    super(messageOf(cause));
  }
}

class PartlyWritten extends Error {
  constructor(
    message: string,
    readonly after: Record<string, string | null>,
  ) {
    super(message);
  }
}

async function plan(
  ports: RemediationPorts,
  config: RemediationConfig,
  name: AutomatedAlert,
  alert: Alert,
  workload: MoeWorkload,
  mode: 'enabled' | 'dry-run',
): Promise<Step> {
  switch (name) {
    case 'GPUMemoryUsageHigh':
      return planGpuMemory(ports, config, workload);
    case 'ExpertLoadImbalance':
      return planImbalance(ports, config, workload);
    case 'MoETrainingLossHigh':
      return planLossHigh(ports, config, workload);
    case 'InferenceLatencyHigh':
      return planScaleUp(ports, alert, workload, mode);
  }
}

async function planGpuMemory(
  ports: RemediationPorts,
  config: RemediationConfig,
  workload: MoeWorkload,
): Promise<Step> {
  const configMap = await readConfig(ports, workload, workload.configMaps.training!);
  if (typeof configMap === 'string') return notifyOnly(configMap);
  const relief = planGpuMemoryRelief(configMap.data, config.batchSizeFloor);
  if (relief.problem) return notifyOnly(`${configMap.name}: ${relief.problem}`);
  return withRestart(
    ports,
    workload,
    configChanges(ports.cluster, [[configMap, relief.changes]]),
    'to load the new training config',
  );
}

async function planImbalance(
  ports: RemediationPorts,
  config: RemediationConfig,
  workload: MoeWorkload,
): Promise<Step> {
  const training = await readConfig(ports, workload, workload.configMaps.training!);
  if (typeof training === 'string') return notifyOnly(training);
  const routerName = workload.configMaps.router;
  const router = routerName ? await readConfig(ports, workload, routerName) : training;
  if (typeof router === 'string') return notifyOnly(router);
  const coef = planLoadBalanceCoef(training.data, config.loadBalanceLossCoefMax);
  const capacity = planCapacityFactor(router.data);
  const problems = [coef.problem, capacity.problem].filter((p): p is string => p !== undefined);
  if (problems.length > 0) return notifyOnly(problems.join('; '));
  const edits: [ConfigMapState, KeyChange[]][] =
    router === training
      ? [[training, [...coef.changes, ...capacity.changes]]]
      : [
          [training, coef.changes],
          [router, capacity.changes],
        ];
  const step = configChanges(
    ports.cluster,
    edits.filter(([, changes]) => changes.length > 0),
  );
  if (!step.apply) {
    return notifyOnly(
      `load_balance_loss_coef is at its cap (${config.loadBalanceLossCoefMax}) and expert_capacity_factor is at least 1.5: review the router by hand`,
    );
  }
  return {
    ...step,
    message: `${step.message}. The trainer picks the values up when it re-reads its config (mounted ConfigMap) or restarts`,
  };
}

async function planLossHigh(
  ports: RemediationPorts,
  config: RemediationConfig,
  workload: MoeWorkload,
): Promise<Step> {
  const notice =
    `Training loss of ${workloadKey(workload)} has not decreased for an hour. Check the trainer's logs, learning rate and ` +
    'expert balance (runbook)';
  if (!config.restartOnTrainingLossHigh) return notifyOnly(notice);
  const checkpoint = checkpointToRestartFrom(workload.latestCheckpoint, workload.checkpointLocation);
  if (!checkpoint.path) return notifyOnly(`${notice}. Not restarting: ${checkpoint.problem}`);
  return withRestart(
    ports,
    workload,
    { counted: true, before: {}, after: {}, message: notice, undo: [] },
    'from its newest checkpoint',
  );
}

async function planScaleUp(
  ports: RemediationPorts,
  alert: Alert,
  workload: MoeWorkload,
  mode: 'enabled' | 'dry-run',
): Promise<Step> {
  const ref = workloadKey(workload);
  const replicas = workload.replicas;
  const before = { replicas: String(replicas) };
  if (replicas >= workload.maxReplicas) {
    return notifyOnly(
      `${ref} already runs its declared maximum of ${workload.maxReplicas} replicas; scale other models down or raise the maximum`,
    );
  }
  const holder = replicaHolder(workload, replicas);
  const baseline = workload.scaleBack?.replicas ?? replicas;
  const annotations = {
    [MOE_ANNOTATIONS.scaleBackReplicas]: String(baseline),
    [MOE_ANNOTATIONS.latencyHighSince]: new Date(alert.startsAt).toISOString(),
    [MOE_ANNOTATIONS.latencyLowSince]: null,
  };
  const step: Step = {
    counted: true,
    before,
    after: { replicas: String(replicas + 1) },
    message: `Added inference replica ${replicas + 1} of ${ref} (${workload.memory} in pool ${workload.pool}); it goes back to ${baseline} once latency has stayed low`,
    undo: [`kubectl scale deployment/${workload.name} -n ${workload.namespace} --replicas=${replicas}`],
    apply: async () => {
      const allocation = await ports.ledger
        .allocate({ pool: workload.pool, holder, bytes: workload.memoryBytes, now: ports.clock() })
        .catch((error: unknown) => {
          throw new NothingWritten(error);
        });
      if (allocation.outcome === 'insufficient') {
        return {
          outcome: 'blocked',
          message: blockedMessage(workload, allocation.pool, allocation.blocking),
        };
      }
      try {
        await ports.cluster.scale(workload, replicas + 1, annotations);
      } catch (error) {
        const held = allocation.pool.allocations.find((a) => a.holder === holder);
        if (held) await ports.ledger.release({ pool: workload.pool, holder, fence: fenceOf(held) });
        throw new NothingWritten(error);
      }
    },
  };
  // Seen full before claiming: no slot of the hourly limit is spent on a scale-up that cannot happen.
  // (A race lost between this read and the allocation still ends as `blocked`, through the claim.)
  const dryRun = mode === 'dry-run' ? 'Dry run: ' : '';
  const pool = await ports.ledger.readPool(workload.pool).catch((error: unknown) => {
    if (error instanceof LedgerError && error.code === 'unknown_pool') return undefined;
    throw error;
  });
  if (!pool) return notifyOnly(`${dryRun}pool ${workload.pool} has no budget, so no replica can be added`);
  if (pool.availableBytes < workload.memoryBytes) {
    const { blocking } = findBlocking(pool, workload.memoryBytes, ports.clock());
    return {
      ...notifyOnly(`${dryRun}${blockedMessage(workload, pool, blocking)}`),
      blocked: true,
    };
  }
  return step;
}

/**
 * Why no replica could be added. Blocking models are those a cooldown would release; when none would,
 * the holders (workload replicas included) are named largest first, so on-call sees who has the pool.
 */
function blockedMessage(
  workload: MoeWorkload,
  pool: PoolSnapshot,
  blocking: readonly BlockingAllocation[],
): string {
  const blockers = blocking.map(
    (b) => `${b.holder} (${formatQuantity(b.bytes)}, idle ${formatDuration(b.idleMs)})`,
  );
  const holders = [...pool.allocations]
    .sort((a, b) => b.bytes - a.bytes)
    .map((a) => `${a.holder} (${formatQuantity(a.bytes)})`);
  return (
    `Cannot add an inference replica to ${workloadKey(workload)}: it needs ${workload.memory} in pool ${workload.pool}, ` +
    `${formatQuantity(pool.availableBytes)} free` +
    (blockers.length > 0
      ? `; blocking models: ${blockers.join(', ')}`
      : `; no cooldown would make room, the pool is held by: ${holders.join(', ') || 'nobody'}`)
  );
}

/** A latency alert that started before latency was last seen low again is an old delivery. */
function isStale(alert: Alert, workload: MoeWorkload): boolean {
  const lowSince = workload.scaleBack?.lowSince;
  return lowSince !== undefined && alert.startsAt <= lowSince;
}

/** Resolved: the scale-back clock starts (a later scheduled tick scales back). */
async function noteLatencyLow(
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
async function scaleBackDue(
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

// ---- building blocks ---------------------------------------------------------------------------------

async function readConfig(
  ports: RemediationPorts,
  workload: MoeWorkload,
  name: string,
): Promise<ConfigMapState | string> {
  const found = await ports.cluster.readConfigMap(workload.namespace, name);
  return found ?? `ConfigMap ${workload.namespace}/${name} (declared for ${workload.name}) does not exist`;
}

function notifyOnly(message: string): Step {
  return { counted: false, before: {}, after: {}, message, undo: [] };
}

/** ConfigMap edits, each guarded by the resourceVersion it was planned from. */
function configChanges(cluster: MoeCluster, edits: [ConfigMapState, KeyChange[]][]): Step {
  const before: Record<string, string | null> = {};
  const after: Record<string, string | null> = {};
  const undo: string[] = [];
  const said: string[] = [];
  for (const [configMap, changes] of edits) {
    for (const change of changes) {
      before[`${configMap.name}.${change.key}`] = change.before ?? null;
      after[`${configMap.name}.${change.key}`] = change.after;
    }
    said.push(
      `${configMap.name}: ${changes.map((c) => `${c.key} ${c.before ?? '(unset)'} -> ${c.after}`).join(', ')}`,
    );
    const restore = Object.fromEntries(changes.map((c) => [c.key, c.before ?? null]));
    undo.push(
      `kubectl patch configmap ${configMap.name} -n ${configMap.namespace} --type merge -p '${JSON.stringify({ data: restore })}'`,
    );
  }
  if (edits.length === 0) return notifyOnly('nothing to change');
  return {
    counted: true,
    before,
    after,
    message: `Set ${said.join('; ')}`,
    undo,
    apply: async () => {
      const written: Record<string, string | null> = { ...before };
      for (const [index, [configMap, changes]] of edits.entries()) {
        try {
          await writeConfig(configMap, changes);
        } catch (error) {
          if (index === 0) throw new NothingWritten(error);
          throw new PartlyWritten(messageOf(error), written);
        }
        for (const change of changes) written[`${configMap.name}.${change.key}`] = change.after;
      }
    },
  };

  async function writeConfig(configMap: ConfigMapState, changes: KeyChange[]): Promise<void> {
    await cluster.patchConfigMap(configMap, Object.fromEntries(changes.map((c) => [c.key, c.after])));
  }
}

/** Adds a rollout restart (from the newest reported checkpoint, when there is one) after the step's writes. */
function withRestart(ports: RemediationPorts, workload: MoeWorkload, step: Step, why: string): Step {
  const checkpoint = checkpointToRestartFrom(workload.latestCheckpoint, workload.checkpointLocation);
  const env: Record<string, string> = checkpoint.path ? { [CHECKPOINT_ENV]: checkpoint.path } : {};
  const ref = `deployment/${workload.name} -n ${workload.namespace}`;
  return {
    counted: true,
    before: { ...step.before, [CHECKPOINT_ENV]: workload.checkpointPath ?? null },
    after: { ...step.after, [CHECKPOINT_ENV]: checkpoint.path ?? workload.checkpointPath ?? null },
    message:
      `${step.message}. Restarted ${workload.name} ${why}` +
      (checkpoint.path
        ? ` (${CHECKPOINT_ENV}=${checkpoint.path})`
        : ` (${checkpoint.problem}; ${CHECKPOINT_ENV} left as it was)`),
    undo: [...step.undo, `kubectl rollout undo ${ref}`],
    apply: async () => {
      await step.apply?.();
      try {
        await ports.cluster.restart(workload, ports.clock(), env);
      } catch (error) {
        if (!step.apply) throw new NothingWritten(error);
        throw new PartlyWritten(
          `the restart failed after the config was written: ${messageOf(error)}`,
          step.after,
        );
      }
    },
  };
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

function fields(workload: MoeWorkload): Record<string, string> {
  return { workload: workload.name, namespace: workload.namespace, role: workload.role };
}

function messageOf(error: unknown): string {
  if (error instanceof ConflictError)
    return `${error.message} (changed by someone else meanwhile; retried with the next delivery)`;
  return error instanceof Error ? error.message : String(error);
}
