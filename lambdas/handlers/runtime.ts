import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { Logger } from '@aws-lambda-powertools/logger';
import type { KubeConfig } from '@kubernetes/client-node';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDbLedger, ledgerClient } from '../adapters/dynamodb-ledger.js';
import { EventBridgeReconcileRequests } from '../adapters/eventbridge-reconcile-requests.js';
import { EksTokenProvider } from '../adapters/eks-token.js';
import { kubeConfigForEks, kubeConfigFromFile } from '../adapters/kube-config.js';
import { KubernetesCluster } from '../adapters/kubernetes-cluster.js';
import type { ReconcilePorts } from '../core/reconcile/model.js';
import type { ReconcileOptions } from '../core/reconcile/reconciler.js';
import type { WarmUpPorts } from '../core/warmup/warm-up.js';

/** One logger per Lambda: JSON lines whose keys (`model`, `namespace`, ...) the seed's jq recipes read. */
export const logger = new Logger({ serviceName: 'inference-budget-control-plane' });

export interface RuntimeConfig {
  ledgerTable: string;
  /** Local mode: a DynamoDB-compatible endpoint (dynalite); unset on AWS. */
  dynamoDbEndpoint: string | undefined;
  kubernetes: { kubeconfig: string } | { eksCluster: string; region: string };
  /** The EventBridge bus that carries reconcile requests to the single-model reconcile Lambda. */
  eventBusName: string;
  /** Limits the control plane to one namespace; unset, it governs the whole cluster. */
  watchNamespace: string | undefined;
  reconcile: ReconcileOptions;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The Lambda's environment, checked once at cold start so a bad deployment fails with a clear message. */
export function runtimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const ledgerTable = required(env, 'LEDGER_TABLE');
  const graceSeconds = Number(env.ORPHAN_GRACE_SECONDS ?? '300');
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0) {
    throw new ConfigError(
      `ORPHAN_GRACE_SECONDS must be a whole number of seconds, got "${env.ORPHAN_GRACE_SECONDS}"`,
    );
  }
  const kubernetes = env.KUBECONFIG
    ? { kubeconfig: env.KUBECONFIG }
    : { eksCluster: required(env, 'EKS_CLUSTER_NAME'), region: required(env, 'AWS_REGION') };
  return {
    ledgerTable,
    dynamoDbEndpoint: env.DYNAMODB_ENDPOINT || undefined,
    kubernetes,
    eventBusName: env.EVENT_BUS_NAME || 'default',
    watchNamespace: env.WATCH_NAMESPACE || undefined,
    reconcile: { orphanGraceMs: graceSeconds * 1000 },
  };
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
  private readonly tokens: EksTokenProvider | undefined;
  private cluster: { token: string; cluster: KubernetesCluster } | undefined;
  private reconcileRequests: EventBridgeReconcileRequests | undefined;
  private eksAccess: Promise<{ endpoint: string; certificateAuthorityData: string }> | undefined;

  constructor(readonly config: RuntimeConfig) {
    const client = ledgerClient(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {});
    this.ledger = new DynamoDbLedger(client, config.ledgerTable);
    if ('eksCluster' in config.kubernetes)
      this.tokens = new EksTokenProvider({ region: config.kubernetes.region });
  }

  async ports(): Promise<ReconcilePorts> {
    return { cluster: await this.kubernetes(), ledger: this.ledger, log: logger, clock: Date.now };
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
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
  }

  private scope(): { namespace?: string } {
    return this.config.watchNamespace ? { namespace: this.config.watchNamespace } : {};
  }

  private async kubernetes(): Promise<KubernetesCluster> {
    const target = this.config.kubernetes;
    if ('kubeconfig' in target) {
      this.cluster ??= {
        token: '',
        cluster: new KubernetesCluster(kubeConfigFromFile(target.kubeconfig), this.scope()),
      };
      return this.cluster.cluster;
    }
    const token = await this.tokens!.token(target.eksCluster);
    if (this.cluster?.token !== token) {
      const access = await (this.eksAccess ??= describeCluster(target.eksCluster, target.region));
      const config: KubeConfig = kubeConfigForEks({ name: target.eksCluster, token, ...access });
      this.cluster = { token, cluster: new KubernetesCluster(config, this.scope()) };
    }
    return this.cluster.cluster;
  }
}

async function describeCluster(name: string, region: string) {
  const { cluster } = await new EKSClient({ region }).send(new DescribeClusterCommand({ name }));
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new ConfigError(`EKS cluster ${name} has no endpoint or certificate authority yet (is it ACTIVE?)`);
  }
  return { endpoint: cluster.endpoint, certificateAuthorityData: cluster.certificateAuthority.data };
}
