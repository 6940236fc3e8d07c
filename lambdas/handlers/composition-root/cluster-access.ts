import type { KubernetesEndpoint } from '../../adapters/kubernetes-api.js';
import { KubernetesCluster } from '../../adapters/kubernetes-cluster.js';
import { KubernetesMoeWorkloads } from '../../adapters/kubernetes-moe-workloads.js';
import { KubernetesPoolNodes } from '../../adapters/kubernetes-pool-nodes.js';
import type { PoolPolicy } from '../../core/nodes/pool-policies.js';
import type { ReconcilePorts } from '../../core/reconcile/ports.js';
import type { RuntimeConfig } from '../../config.js';
import { logger } from '../logger.js';
import { KubeConfigSource } from './kube-config-source.js';
import type { LedgerTable } from './ledger-table.js';

/** The namespaces the control plane governs (namespaced mode); none given, the whole cluster. */
interface NamespaceScope {
  namespaces?: readonly string[];
}

/** Builds one Kubernetes adapter on the given credentials, limited to the governed namespaces if any. */
export type ClientFactory<T> = (endpoint: KubernetesEndpoint, scope: NamespaceScope) => T;

export const kubernetesCluster: ClientFactory<KubernetesCluster> = (endpoint, scope) =>
  new KubernetesCluster(endpoint, scope);
export const moeWorkloads: ClientFactory<KubernetesMoeWorkloads> = (endpoint, scope) =>
  new KubernetesMoeWorkloads(endpoint, scope);
export const poolNodes: ClientFactory<KubernetesPoolNodes> = (endpoint, scope) =>
  new KubernetesPoolNodes(endpoint, scope);

/**
 * Kubernetes adapters on the cluster's current credentials, built on first use and reused across
 * invocations; rebuilt when the endpoint changes (on EKS, with the token).
 */
export class ClusterAccess {
  private readonly kubeConfigs: KubeConfigSource;
  private readonly scope: NamespaceScope;
  private readonly poolPolicies: ReadonlyMap<string, PoolPolicy>;
  private current:
    { endpoint: KubernetesEndpoint; clients: Map<ClientFactory<unknown>, unknown> } | undefined;

  constructor(config: RuntimeConfig) {
    this.kubeConfigs = new KubeConfigSource(config.kubernetes);
    this.scope = config.watchNamespaces ? { namespaces: config.watchNamespaces } : {};
    this.poolPolicies = new Map(config.nodePools.map((pool) => [pool.name, pool]));
  }

  async client<T>(make: ClientFactory<T>): Promise<T> {
    const endpoint = await this.kubeConfigs.current();
    if (this.current?.endpoint !== endpoint) this.current = { endpoint, clients: new Map() };
    const { clients } = this.current;
    if (!clients.has(make)) clients.set(make, make(endpoint, this.scope));
    return clients.get(make) as T;
  }

  /** What the reconciler needs: the cluster, the ledger and its admission queues, the pools' policies. */
  async reconcilePorts(table: LedgerTable): Promise<ReconcilePorts> {
    return {
      cluster: await this.client(kubernetesCluster),
      ledger: table.ledger,
      log: logger,
      clock: Date.now,
      poolPolicies: this.poolPolicies,
      queue: table.queue,
    };
  }
}
