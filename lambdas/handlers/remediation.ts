import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbRemediationStore } from '../adapters/dynamodb-remediation.js';
import { SnsAnnouncer } from '../adapters/sns-announcer.js';
import { DurationError, parseDuration } from '../core/duration.js';
import { AlertPayloadError, parseRemediationEvent } from '../core/remediation/alerts.js';
import {
  type ActionMode,
  type RemediationConfig,
  type RemediationPorts,
  type RemediationReport,
} from '../core/remediation/ports.js';
import { remediate } from '../core/remediation/remediate.js';
import { AUTOMATED_ALERTS, type AutomatedAlert } from '../core/remediation/targets.js';
import { ConfigError, logger, runtimeConfig } from './runtime.js';
import { ClusterAccess, moeWorkloads } from './wiring/cluster-access.js';
import { ledgerTable, type LedgerTable } from './wiring/ledger-table.js';

/** The environment variable that sets each action's mode (docs/remediation.md). */
export const MODE_VARIABLES: Record<AutomatedAlert, string> = {
  GPUMemoryUsageHigh: 'REMEDIATION_GPU_MEMORY_USAGE_HIGH',
  InferenceLatencyHigh: 'REMEDIATION_INFERENCE_LATENCY_HIGH',
  ExpertLoadImbalance: 'REMEDIATION_EXPERT_LOAD_IMBALANCE',
  MoETrainingLossHigh: 'REMEDIATION_MOE_TRAINING_LOSS_HIGH',
};
const MODES: readonly ActionMode[] = ['enabled', 'dry-run', 'disabled'];

/** The remediation settings from the environment, with the defaults docs/remediation.md lists. */
export function remediationConfig(
  env: NodeJS.ProcessEnv = process.env,
): RemediationConfig & { topicArn: string; alarmArnPrefix: string | undefined } {
  const topicArn = env.ON_CALL_TOPIC_ARN;
  if (!topicArn) throw new ConfigError('environment variable ON_CALL_TOPIC_ARN is required');
  const modes = Object.fromEntries(
    (Object.keys(AUTOMATED_ALERTS) as AutomatedAlert[]).map((alert) => {
      const name = MODE_VARIABLES[alert];
      // Changing a workload is an explicit choice: unset, an action only says what it would do.
      const value = env[name] || 'dry-run';
      if (!MODES.includes(value as ActionMode)) {
        throw new ConfigError(`${name} must be one of ${MODES.join(', ')}, got "${value}"`);
      }
      return [alert, value as ActionMode];
    }),
  ) as Record<AutomatedAlert, ActionMode>;
  return {
    topicArn,
    modes,
    maxActionsPerHour: wholeNumber(env, 'REMEDIATION_MAX_ACTIONS_PER_HOUR', 3, 1),
    maxActionsPerHourTotal: wholeNumber(env, 'REMEDIATION_MAX_ACTIONS_PER_HOUR_TOTAL', 10, 1),
    alarmArnPrefix: env.REMEDIATION_ALARM_ARN_PREFIX || undefined,
    batchSizeFloor: wholeNumber(env, 'REMEDIATION_BATCH_SIZE_FLOOR', 1, 1),
    loadBalanceLossCoefMax: positiveNumber(env, 'REMEDIATION_LOAD_BALANCE_LOSS_COEF_MAX', 0.1),
    latencyScaleBackMs: duration(env, 'REMEDIATION_LATENCY_SCALE_BACK_AFTER', '30m'),
    restartOnTrainingLossHigh: flag(env, 'REMEDIATION_TRAINING_LOSS_RESTART'),
    runbookBaseUrl: env.REMEDIATION_RUNBOOK_BASE_URL || 'docs/runbooks/',
  };
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const value = Number(env[name] || fallback);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name} must be a whole number of at least ${min}, got "${env[name]}"`);
  }
  return value;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] || fallback);
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(`${name} must be a positive number, got "${env[name]}"`);
  return value;
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  try {
    return parseDuration(env[name] || fallback);
  } catch (error) {
    if (error instanceof DurationError) throw new ConfigError(`${name}: ${error.message}`);
    throw error;
  }
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name] || 'false';
  if (value !== 'true' && value !== 'false')
    throw new ConfigError(`${name} must be true or false, got "${value}"`);
  return value === 'true';
}

let wiring: { table: LedgerTable; access: ClusterAccess } | undefined;
let settings: ReturnType<typeof remediationConfig> | undefined;
let sns: SNSClient | undefined;

/**
 * Runbook automation for the MoE lab (docs/remediation.md). Triggers: the on-call SNS topic that the AMP
 * alert manager publishes to, EventBridge CloudWatch alarm state changes, and a schedule that scales
 * latency replicas back. A malformed payload is logged and dropped (a retry cannot fix it); any other
 * failure throws, so Lambda's async retry redelivers it, and the claims make sure it acts once.
 */
export const handler = middy(async (event: unknown): Promise<RemediationReport> => {
  settings ??= remediationConfig();
  if (!wiring) {
    const config = runtimeConfig();
    wiring = { table: ledgerTable(config), access: new ClusterAccess(config) };
  }
  sns ??= new SNSClient({});
  let parsed;
  try {
    parsed = parseRemediationEvent(event, { alarmArnPrefix: settings.alarmArnPrefix });
  } catch (error) {
    if (!(error instanceof AlertPayloadError)) throw error;
    logger.error('Alert payload rejected', { reason: error.message });
    return { results: [], rejected: [error.message] };
  }
  const store = new DynamoDbRemediationStore(wiring.table.client, wiring.table.name);
  const ports: RemediationPorts = {
    cluster: await wiring.access.client(moeWorkloads),
    ledger: wiring.table.ledger,
    claims: store,
    actions: store,
    announcer: new SnsAnnouncer(sns, settings.topicArn),
    log: logger,
    clock: Date.now,
  };
  const report = await remediate(ports, settings, parsed);
  logger.info('Remediation finished', {
    results: report.results.map((r) => `${r.alert} ${r.status} ${r.workload ?? '-'}: ${r.outcome}`),
    rejected: report.rejected.length,
  });
  return report;
}).use(injectLambdaContext(logger));
