import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import type { KubeConfig } from '@kubernetes/client-node';
import { EksTokenProvider } from '../../adapters/eks-token.js';
import { kubeConfigForEks, kubeConfigFromFile } from '../../adapters/kube-config.js';
import { KubernetesCluster } from '../../adapters/kubernetes-cluster.js';
import { KubernetesMoeWorkloads } from '../../adapters/kubernetes-moe-workloads.js';
import { KubernetesPoolNodes } from '../../adapters/kubernetes-pool-nodes.js';
import type { ReconcilePorts } from '../../core/reconcile/model.js';
import { ConfigError, logger, type RuntimeConfig } from '../runtime.js';
import type { LedgerTable } from './ledger-table.js';

/** Builds one Kubernetes adapter on the given credentials, limited to the watched namespace if any. */
export type ClientFactory<T> = (config: KubeConfig, scope: { namespace?: string }) => T;

export const kubernetesCluster: ClientFactory<KubernetesCluster> = (config, scope) =>
  new KubernetesCluster(config, scope);
export const moeWorkloads: ClientFactory<KubernetesMoeWorkloads> = (config, scope) =>
  new KubernetesMoeWorkloads(config, scope);
export const poolNodes: ClientFactory<KubernetesPoolNodes> = (config) => new KubernetesPoolNodes(config);

interface Credentials {
  token: string;
  config: KubeConfig;
  clients: Map<ClientFactory<unknown>, unknown>;
}

/**
 * Kubernetes adapters on the cluster's current credentials, built on first use and reused across
 * invocations. On EKS they are rebuilt only when the (cached, 14-minute) token changes.
 */
export class ClusterAccess {
  private readonly tokens: EksTokenProvider | undefined;
  private readonly scope: { namespace?: string };
  private eksAccess: Promise<{ endpoint: string; certificateAuthorityData: string }> | undefined;
  private current: Credentials | undefined;

  constructor(private readonly config: RuntimeConfig) {
    if ('eksCluster' in config.kubernetes)
      this.tokens = new EksTokenProvider({ region: config.kubernetes.region });
    this.scope = config.watchNamespace ? { namespace: config.watchNamespace } : {};
  }

  async client<T>(make: ClientFactory<T>): Promise<T> {
    const current = await this.credentials();
    if (!current.clients.has(make)) current.clients.set(make, make(current.config, this.scope));
    return current.clients.get(make) as T;
  }

  /** What the reconciler needs: the cluster and the ledger. */
  async reconcilePorts(table: LedgerTable): Promise<ReconcilePorts> {
    return {
      cluster: await this.client(kubernetesCluster),
      ledger: table.ledger,
      log: logger,
      clock: Date.now,
    };
  }

  private async credentials(): Promise<Credentials> {
    const target = this.config.kubernetes;
    if ('kubeconfig' in target) {
      this.current ??= { token: '', config: kubeConfigFromFile(target.kubeconfig), clients: new Map() };
      return this.current;
    }
    const token = await this.tokens!.token(target.eksCluster);
    if (this.current?.token !== token) {
      const access = await (this.eksAccess ??= describeCluster(target.eksCluster, target.region));
      const config = kubeConfigForEks({ name: target.eksCluster, token, ...access });
      this.current = { token, config, clients: new Map() };
    }
    return this.current;
  }
}

async function describeCluster(name: string, region: string) {
  const { cluster } = await new EKSClient({ region }).send(new DescribeClusterCommand({ name }));
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new ConfigError(`EKS cluster ${name} has no endpoint or certificate authority yet (is it ACTIVE?)`);
  }
  return { endpoint: cluster.endpoint, certificateAuthorityData: cluster.certificateAuthority.data };
}
