import { CLUSTER_NAME_PATTERN, type ClusterScope } from './core/clusters.js';
import { DurationError, parseDuration } from './core/duration.js';
import { DEFAULT_STABILISATION_MS } from './core/nodes/ports.js';
import { NodePoolConfigError, parseNodePools, type NodePoolConfig } from './core/nodes/node-pools.js';
import { DEFAULT_START_DEADLINE_MS } from './core/reconcile/ports.js';
import type { ReconcileOptions } from './core/reconcile/reconciler.js';
import type { ActionMode, RemediationConfig } from './core/remediation/ports.js';
import { AUTOMATED_ALERTS, type AutomatedAlert } from './core/remediation/targets.js';

// Every Lambda's environment, read here and nowhere else, each problem a ConfigError naming the variable.
// Pure (no SDK, no logger): `cdk synth` (lib/config.ts) checks settings with the same readers the Lambdas'
// cold starts use. What each Lambda wires from its settings lives in handlers/wiring/.

export interface RuntimeConfig {
  ledgerTable: string;
  /** Local mode: a DynamoDB-compatible endpoint (dynalite); unset on AWS. */
  dynamoDbEndpoint: string | undefined;
  kubernetes: KubernetesTarget;
  /** The EventBridge bus that carries reconcile requests to the single-model reconcile Lambda. */
  eventBusName: string;
  /** Amazon Managed Prometheus remote-write URL (or a local Prometheus); unset: CloudWatch only. */
  remoteWriteUrl: string | undefined;
  /** Prometheus HTTP API holding DCGM metrics (an AMP workspace URL, or a local Prometheus); unset: no recommendations. */
  prometheusQueryUrl: string | undefined;
  /** How far back the observed peak GPU memory looks. */
  recommendationWindowSeconds: number;
  /** The `control_plane` label on the control plane's own series. */
  controlPlaneName: string;
  /** Limits the control plane to these namespaces (`WATCH_NAMESPACE`, comma-separated); unset, the whole cluster. */
  watchNamespaces: string[] | undefined;
  reconcile: ReconcileOptions;
  /** Time between scheduled passes (RECONCILE_INTERVAL_SECONDS), for the 429's Retry-After. */
  reconcileIntervalMs: number;
  /** GPU node pools and their EKS managed node groups (`NODE_POOLS`); empty: no node scaling. */
  nodePools: NodePoolConfig[];
  /** The EKS cluster whose node groups back the pools; set whenever `nodePools` is not empty. */
  nodeGroupCluster: string | undefined;
  /** How long a node runs no budgeted workload before it is taken out. */
  scaleInStabilisationMs: number;
  /** The cluster this Lambda serves and its keys in the shared ledger; unset, the unscoped ledger. */
  cluster: ClusterScope | undefined;
  /**
   * Every cluster of the deployment (`GOVERNED_CLUSTERS`, comma-separated, the first keeping the
   * single-cluster keys), for the views over all of them (`GET /v1/pools`); unset, this one alone.
   */
  governedClusters: ClusterScope[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The Lambda's environment, checked once at cold start so a bad deployment fails with a clear message. */
export function runtimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const ledgerTable = required(env, 'LEDGER_TABLE');
  const graceSeconds = wholeSeconds(env, 'ORPHAN_GRACE_SECONDS', 300);
  const nodePools = nodePoolsOf(env);
  const kubernetes = kubernetesTarget(env);
  const cluster = clusterScopeOf(env);
  return {
    ledgerTable,
    dynamoDbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    kubernetes,
    eventBusName: env.EVENT_BUS_NAME || 'default',
    remoteWriteUrl: env.AMP_REMOTE_WRITE_URL || undefined,
    prometheusQueryUrl: env.PROMETHEUS_QUERY_URL || undefined,
    recommendationWindowSeconds: wholeSeconds(env, 'RECOMMENDATION_WINDOW_SECONDS', 7 * 24 * 3600),
    controlPlaneName: env.CONTROL_PLANE_NAME || 'inference-budget-control-plane',
    watchNamespaces: namespacesOf(env),
    reconcileIntervalMs: wholeSeconds(env, 'RECONCILE_INTERVAL_SECONDS', 60) * 1000,
    reconcile: {
      orphanGraceMs: graceSeconds * 1000,
      startDeadlineMs: wholeSeconds(env, 'START_DEADLINE_SECONDS', DEFAULT_START_DEADLINE_MS / 1000) * 1000,
    },
    nodePools,
    nodeGroupCluster: nodePools.length > 0 ? required(env, 'EKS_CLUSTER_NAME') : undefined,
    scaleInStabilisationMs:
      wholeSeconds(env, 'SCALE_IN_STABILISATION_SECONDS', DEFAULT_STABILISATION_MS / 1000) * 1000,
    cluster,
    governedClusters: governedClustersOf(env, cluster),
  };
}

const KEY_LAYOUTS = ['legacy', 'cluster'];

/**
 * The cluster a Lambda serves (`CLUSTER_NAME`) and which keys its pools have in the shared ledger
 * (`LEDGER_KEYS`: `legacy`, the default, for the cluster that keeps the single-cluster keys; `cluster` for
 * every other; docs/ledger.md#clusters). Without `CLUSTER_NAME`, the unscoped single-cluster ledger.
 */
export function clusterScopeOf(env: NodeJS.ProcessEnv = process.env): ClusterScope | undefined {
  const cluster = env.CLUSTER_NAME;
  const keys = env.LEDGER_KEYS || 'legacy';
  if (!KEY_LAYOUTS.includes(keys)) {
    throw new ConfigError(`LEDGER_KEYS must be "legacy" or "cluster", got ${JSON.stringify(keys)}`);
  }
  if (!cluster) {
    if (env.LEDGER_KEYS) throw new ConfigError('LEDGER_KEYS needs CLUSTER_NAME, the cluster it scopes');
    return undefined;
  }
  if (!CLUSTER_NAME_PATTERN.test(cluster)) {
    throw new ConfigError(`CLUSTER_NAME must be an EKS cluster name, got ${JSON.stringify(cluster)}`);
  }
  return { cluster, legacyKeys: keys === 'legacy' };
}

function governedClustersOf(env: NodeJS.ProcessEnv, own: ClusterScope | undefined): ClusterScope[] {
  if (!env.GOVERNED_CLUSTERS) return own ? [own] : [];
  const names = env.GOVERNED_CLUSTERS.split(',').map((name) => name.trim());
  const bad = names.filter((name) => !CLUSTER_NAME_PATTERN.test(name));
  if (bad.length > 0) {
    throw new ConfigError(
      `GOVERNED_CLUSTERS must be cluster names separated by commas; not valid: ${JSON.stringify(bad)}`,
    );
  }
  if (new Set(names).size !== names.length) {
    throw new ConfigError(`GOVERNED_CLUSTERS names a cluster twice: ${env.GOVERNED_CLUSTERS}`);
  }
  if (!own) throw new ConfigError('GOVERNED_CLUSTERS needs CLUSTER_NAME, the cluster this Lambda serves');
  const index = names.indexOf(own.cluster);
  if (index < 0) throw new ConfigError(`GOVERNED_CLUSTERS must list CLUSTER_NAME ("${own.cluster}")`);
  if ((index === 0) !== own.legacyKeys) {
    throw new ConfigError(
      'LEDGER_KEYS must be "legacy" for the first cluster of GOVERNED_CLUSTERS and "cluster" for every other',
    );
  }
  return names.map((cluster, i) => ({ cluster, legacyKeys: i === 0 }));
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function namespacesOf(env: NodeJS.ProcessEnv): string[] | undefined {
  if (!env.WATCH_NAMESPACE) return undefined;
  const namespaces = env.WATCH_NAMESPACE.split(',').map((namespace) => namespace.trim());
  const bad = namespaces.filter((namespace) => !NAMESPACE.test(namespace));
  if (bad.length > 0) {
    throw new ConfigError(
      `WATCH_NAMESPACE must be namespace names separated by commas; not valid: ${JSON.stringify(bad)}`,
    );
  }
  return namespaces;
}

/**
 * Which Kubernetes API a Lambda calls: a kubeconfig file (local mode, tests), at one of its contexts
 * (`KUBE_CONTEXT`: local mode governing several clusters of one kubeconfig), else its EKS cluster.
 */
export type KubernetesTarget =
  { kubeconfig: string; context?: string } | { eksCluster: string; region: string };

export function kubernetesTarget(env: NodeJS.ProcessEnv = process.env): KubernetesTarget {
  if (env.KUBE_CONTEXT && !env.KUBECONFIG) {
    throw new ConfigError('KUBE_CONTEXT needs KUBECONFIG, the file that holds the context');
  }
  return env.KUBECONFIG
    ? { kubeconfig: env.KUBECONFIG, ...(env.KUBE_CONTEXT && { context: env.KUBE_CONTEXT }) }
    : { eksCluster: required(env, 'EKS_CLUSTER_NAME'), region: required(env, 'AWS_REGION') };
}

function nodePoolsOf(env: NodeJS.ProcessEnv): NodePoolConfig[] {
  if (!env.NODE_POOLS) return [];
  try {
    return parseNodePools(env.NODE_POOLS);
  } catch (error) {
    if (error instanceof NodePoolConfigError) throw new ConfigError(error.message);
    throw error;
  }
}

/** The webhook Lambda's settings (docs/webhook.md). */
export interface WebhookConfig {
  ledgerTable: string;
  /** Local mode: a DynamoDB-compatible endpoint (dynalite); unset on AWS. */
  dynamoDbEndpoint: string | undefined;
  eventBusName: string;
  /** The path secret: from Secrets Manager on AWS, or given directly in local mode and tests. */
  secret: { arn: string } | { value: string };
  /** Where the namespace's InferenceModels are listed (the dependency-cycle check). */
  kubernetes: KubernetesTarget;
  /** The cluster this webhook serves: it reads that cluster's pools only; unset, the unscoped ledger. */
  cluster?: ClusterScope | undefined;
}

/** The webhook Lambda's environment. EventBridge and Secrets Manager endpoints follow the SDK's own
 * `AWS_ENDPOINT_URL_EVENTBRIDGE` / `AWS_ENDPOINT_URL_SECRETS_MANAGER` (local mode: moto); Kubernetes is
 * `KUBECONFIG` (local mode), else `EKS_CLUSTER_NAME` in `AWS_REGION`. */
export function webhookConfig(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  const ledgerTable = env.LEDGER_TABLE;
  if (!ledgerTable) throw new ConfigError('environment variable LEDGER_TABLE is required');
  const secret = env.WEBHOOK_SECRET_ARN
    ? { arn: env.WEBHOOK_SECRET_ARN }
    : env.WEBHOOK_SECRET
      ? { value: env.WEBHOOK_SECRET }
      : undefined;
  if (!secret)
    throw new ConfigError('environment variable WEBHOOK_SECRET_ARN (or WEBHOOK_SECRET) is required');
  return {
    ledgerTable,
    dynamoDbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    eventBusName: env.EVENT_BUS_NAME || 'default',
    secret,
    kubernetes: kubernetesTarget(env),
    cluster: clusterScopeOf(env),
  };
}

/** The environment variable that sets each remediation action's mode (docs/remediation.md). */
export const MODE_VARIABLES: Record<AutomatedAlert, string> = {
  GPUMemoryUsageHigh: 'REMEDIATION_GPU_MEMORY_USAGE_HIGH',
  InferenceLatencyHigh: 'REMEDIATION_INFERENCE_LATENCY_HIGH',
  ExpertLoadImbalance: 'REMEDIATION_EXPERT_LOAD_IMBALANCE',
  MoETrainingLossHigh: 'REMEDIATION_MOE_TRAINING_LOSS_HIGH',
};
const MODES: readonly ActionMode[] = ['enabled', 'dry-run', 'disabled'];

export type RemediationSettings = RemediationConfig & {
  topicArn: string;
  alarmArnPrefix: string | undefined;
};

/** The remediation settings from the environment, with the defaults docs/remediation.md lists. */
export function remediationConfig(env: NodeJS.ProcessEnv = process.env): RemediationSettings {
  const topicArn = required(env, 'ON_CALL_TOPIC_ARN');
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
    cluster: remediationScope(env),
  };
}

/** With several clusters an alert names its own (`cluster` label); alone, an unlabelled one is its. */
function remediationScope(env: NodeJS.ProcessEnv): RemediationConfig['cluster'] {
  const own = clusterScopeOf(env);
  if (!own) return undefined;
  return { name: own.cluster, labelRequired: governedClustersOf(env, own).length > 1 };
}

// ---- the readers: unset (or, for the remediation settings, empty) means the default ----------------

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

function wholeSeconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${name} must be a whole number of seconds, got "${env[name]}"`);
  }
  return value;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is required`);
  return value;
}
