import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { Logger } from '@aws-lambda-powertools/logger';
import type { KubeConfig } from '@kubernetes/client-node';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CloudWatchEmf } from '../adapters/cloudwatch-emf.js';
import { DynamoDbLedger, ledgerClient } from '../adapters/dynamodb-ledger.js';
import { DynamoDbMetricCounters } from '../adapters/dynamodb-metric-counters.js';
import { DynamoDbScaleOutRecords } from '../adapters/dynamodb-scale-outs.js';
import { EksNodeGroups } from '../adapters/eks-node-groups.js';
import { KubernetesPoolNodes } from '../adapters/kubernetes-pool-nodes.js';
import { PrometheusPeakMemory } from '../adapters/prometheus-peak-memory.js';
import { RemoteWriteSink } from '../adapters/prometheus-remote-write.js';
import { EventBridgeReconcileRequests } from '../adapters/eventbridge-reconcile-requests.js';
import { EksTokenProvider } from '../adapters/eks-token.js';
import { kubeConfigForEks, kubeConfigFromFile } from '../adapters/kube-config.js';
import { KubernetesCluster } from '../adapters/kubernetes-cluster.js';
import { KubernetesMoeWorkloads } from '../adapters/kubernetes-moe-workloads.js';
import { DEFAULT_STABILISATION_MS, type NodeScalingPorts } from '../core/nodes/model.js';
import { NodePoolConfigError, parseNodePools, type NodePoolConfig } from '../core/nodes/node-pools.js';
import { DEFAULT_START_DEADLINE_MS, type ReconcilePorts } from '../core/reconcile/model.js';
import type { MetricsPorts } from '../core/metrics/publish.js';
import type { ReconcileOptions } from '../core/reconcile/reconciler.js';
import type { WarmUpPorts } from '../core/warmup/warm-up.js';

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
  /** Limits the control plane to one namespace; unset, it governs the whole cluster. */
  watchNamespace: string | undefined;
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
    watchNamespace: env.WATCH_NAMESPACE || undefined,
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

/** Which Kubernetes API a Lambda calls: a kubeconfig file (local mode, tests), else its EKS cluster. */
export type KubernetesTarget = { kubeconfig: string } | { eksCluster: string; region: string };

export function kubernetesTarget(env: NodeJS.ProcessEnv = process.env): KubernetesTarget {
  return env.KUBECONFIG
    ? { kubeconfig: env.KUBECONFIG }
    : { eksCluster: required(env, 'EKS_CLUSTER_NAME'), region: required(env, 'AWS_REGION') };
}

/**
 * The KubeConfig of a target, built once per execution environment; on EKS rebuilt only when the
 * (cached, 14-minute) token changes, so a caller may keep clients made from it while it is the same.
 */
export class KubeConfigSource {
  private readonly tokens: EksTokenProvider | undefined;
  private config: { token: string; kubeConfig: KubeConfig } | undefined;
  private eksAccess: Promise<{ endpoint: string; certificateAuthorityData: string }> | undefined;

  constructor(private readonly target: KubernetesTarget) {
    if ('eksCluster' in target) this.tokens = new EksTokenProvider({ region: target.region });
  }

  async current(): Promise<KubeConfig> {
    const target = this.target;
    if ('kubeconfig' in target) {
      this.config ??= { token: '', kubeConfig: kubeConfigFromFile(target.kubeconfig) };
      return this.config.kubeConfig;
    }
    const token = await this.tokens!.token(target.eksCluster);
    if (this.config?.token !== token) {
      const access = await (this.eksAccess ??= describeCluster(target.eksCluster, target.region).catch(
        (error: unknown) => {
          this.eksAccess = undefined; // a failed DescribeCluster is retried by the next call
          throw error;
        },
      ));
      this.config = { token, kubeConfig: kubeConfigForEks({ name: target.eksCluster, token, ...access }) };
    }
    return this.config.kubeConfig;
  }
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

/**
 * Adapters built once per execution environment and reused across invocations. On EKS the kubeconfig
 * is rebuilt only when the (cached, 14-minute) token changes.
 */
export class Runtime {
  private readonly ledger: DynamoDbLedger;
  private readonly kubeConfigs: KubeConfigSource;
  private cluster: ClusterAccess | undefined;
  private nodeGroups: EksNodeGroups | undefined;
  private reconcileRequests: EventBridgeReconcileRequests | undefined;
  private metrics: MetricsPorts | undefined;
  private peaks: PrometheusPeakMemory | undefined;
  private readonly dynamoDb: DynamoDBClient;

  constructor(readonly config: RuntimeConfig) {
    this.dynamoDb = ledgerClient(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {});
    this.ledger = new DynamoDbLedger(this.dynamoDb, config.ledgerTable);
    this.kubeConfigs = new KubeConfigSource(config.kubernetes);
  }

  /** The ledger table's client, shared by the adapters that keep their items there. */
  dynamoDbClient(): DynamoDBClient {
    return this.dynamoDb;
  }

  budgetLedger(): DynamoDbLedger {
    return this.ledger;
  }

  async ports(): Promise<ReconcilePorts> {
    return { cluster: await this.kubernetes(), ledger: this.ledger, log: logger, clock: Date.now };
  }

  metricsPorts(): MetricsPorts {
    this.metrics ??= {
      operational: new CloudWatchEmf(),
      series: this.config.remoteWriteUrl ? remoteWriteSink(this.config.remoteWriteUrl) : undefined,
      counters: new DynamoDbMetricCounters(this.dynamoDb, this.config.ledgerTable),
      clock: Date.now,
      controlPlane: this.config.controlPlaneName,
    };
    return this.metrics;
  }

  /** Where observed peak GPU memory comes from; undefined when no Prometheus is configured. */
  peakMemory(): PrometheusPeakMemory | undefined {
    const url = this.config.prometheusQueryUrl;
    if (!url) return undefined;
    this.peaks ??= new PrometheusPeakMemory({
      url,
      ...(isAmp(url) ? { region: process.env.AWS_REGION } : {}),
    });
    return this.peaks;
  }

  /** The node scaler's ports; undefined when no node pool is configured. */
  async nodeScalingPorts(): Promise<NodeScalingPorts | undefined> {
    const { nodePools, nodeGroupCluster } = this.config;
    if (!nodeGroupCluster) return undefined;
    // The SDK reads AWS_ENDPOINT_URL_EKS and AWS_ENDPOINT_URL_AUTO_SCALING itself (tests reach moto so).
    this.nodeGroups ??= new EksNodeGroups(new EKSClient({}), new AutoScalingClient({}), nodeGroupCluster);
    await this.kubernetes();
    return {
      pools: nodePools,
      groups: this.nodeGroups,
      nodes: this.cluster!.nodes,
      scaleOuts: new DynamoDbScaleOutRecords(this.dynamoDb, this.config.ledgerTable),
      log: logger,
      clock: Date.now,
      stabilisationMs: this.config.scaleInStabilisationMs,
    };
  }

  async warmUpPorts(): Promise<WarmUpPorts> {
    // The SDK reads AWS_ENDPOINT_URL_EVENTBRIDGE itself, which is how local mode and tests reach moto.
    this.reconcileRequests ??= new EventBridgeReconcileRequests(
      new EventBridgeClient({}),
      this.config.eventBusName,
    );
    return {
      ...(await this.ports()),
      reconcileRequests: this.reconcileRequests,
      reconcileIntervalMs: this.config.reconcileIntervalMs,
      metrics: this.metricsPorts(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      nodeScaling: await this.nodeScalingPorts(),
    };
  }

  private scope(): { namespace?: string } {
    return this.config.watchNamespace ? { namespace: this.config.watchNamespace } : {};
  }

  private async kubernetes(): Promise<KubernetesCluster> {
    return (await this.clusterAccess()).cluster;
  }

  /** The declared MoE workloads and their ConfigMaps, on the same credentials as the reconciler's cluster. */
  async moeWorkloads(): Promise<KubernetesMoeWorkloads> {
    return (await this.clusterAccess()).moe;
  }

  private async clusterAccess(): Promise<ClusterAccess> {
    const config = await this.kubeConfigs.current();
    if (this.cluster?.config !== config) this.cluster = { config, ...this.clients(config) };
    return this.cluster;
  }

  private clients(config: KubeConfig): Omit<ClusterAccess, 'config'> {
    return {
      cluster: new KubernetesCluster(config, this.scope()),
      moe: new KubernetesMoeWorkloads(config, this.scope()),
      nodes: new KubernetesPoolNodes(config),
    };
  }
}

interface ClusterAccess {
  config: KubeConfig;
  cluster: KubernetesCluster;
  moe: KubernetesMoeWorkloads;
  nodes: KubernetesPoolNodes;
}

/** AMP endpoints are SigV4-signed in the Lambda's region; any other URL is a plain Prometheus. */
function remoteWriteSink(url: string): RemoteWriteSink {
  return new RemoteWriteSink(url, isAmp(url) ? { region: process.env.AWS_REGION } : {});
}

function isAmp(url: string): boolean {
  return new URL(url).hostname.startsWith('aps-workspaces.');
}

async function describeCluster(name: string, region: string) {
  const { cluster } = await new EKSClient({ region }).send(new DescribeClusterCommand({ name }));
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new ConfigError(`EKS cluster ${name} has no endpoint or certificate authority yet (is it ACTIVE?)`);
  }
  return { endpoint: cluster.endpoint, certificateAuthorityData: cluster.certificateAuthority.data };
}
