// What the remediation Lambda acts through and reports: its settings, the claims and action log that make
// a redelivered alert a no-op, the announcer, and the report of one delivery.
import type { Ledger } from '../ledger/ledger.js';
import type { ReconcileLog } from '../reconcile/ports.js';
import type { MoeCluster } from '../moe/ports.js';
import type { AutomatedAlert } from './targets.js';

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
  /**
   * The cluster this Lambda acts on: an alert whose `cluster` label names another is left to that
   * cluster's Lambda; with several clusters (`labelRequired`) one without the label is left alone too,
   * since it could be any cluster's. Unset, every alert is this cluster's.
   */
  cluster?: { name: string; labelRequired: boolean } | undefined;
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
  | 'other-cluster'
  | 'noted';

export interface RemediationReport {
  results: { alert: string; status: string; workload?: string; outcome: AlertOutcome; message: string }[];
  rejected: string[];
}
