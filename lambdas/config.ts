import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_STABILISATION_MS } from '../core/nodes/model.js';
import { NodePoolConfigError, parseNodePools, type NodePoolConfig } from '../core/nodes/node-pools.js';
import { DEFAULT_START_DEADLINE_MS } from '../core/reconcile/model.js';
import type { ReconcileOptions } from '../core/reconcile/reconciler.js';

// The configuration and logger every Lambda shares. What each Lambda wires from it lives in wiring/, one
// module per outside system, so a function's bundle holds only the clients its handler uses.

/** One logger per Lambda: JSON lines whose keys (`model`, `namespace`, ...) the seed's jq recipes read. */
export const logger = new Logger({ serviceName: 'inference-budget-control-plane' });

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
  };
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

/** Which Kubernetes API a Lambda calls: a kubeconfig file (local mode, tests), else its EKS cluster. */
export type KubernetesTarget = { kubeconfig: string } | { eksCluster: string; region: string };

export function kubernetesTarget(env: NodeJS.ProcessEnv = process.env): KubernetesTarget {
  return env.KUBECONFIG
    ? { kubeconfig: env.KUBECONFIG }
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
