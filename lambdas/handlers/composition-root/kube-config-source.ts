import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { eksEndpoint } from '../../adapters/eks-endpoint.js';
import { EksTokenProvider } from '../../adapters/eks-token.js';
import { kubeconfigFileEndpoint } from '../../adapters/kubeconfig-file.js';
import type { KubernetesEndpoint } from '../../adapters/kubernetes-api.js';
import { ConfigError, type KubernetesTarget } from '../../config.js';

/**
 * The Kubernetes endpoint of a target, built once per execution environment; on EKS rebuilt only when
 * the (cached, 14-minute) token changes, so a caller may keep clients made from it while it is the same.
 */
export class KubeConfigSource {
  private readonly tokens: EksTokenProvider | undefined;
  private fileEndpoint: Promise<KubernetesEndpoint> | undefined;
  private eks: { token: string; endpoint: KubernetesEndpoint } | undefined;
  private eksAccess: Promise<{ endpoint: string; certificateAuthorityData: string }> | undefined;

  constructor(private readonly target: KubernetesTarget) {
    if ('eksCluster' in target) this.tokens = new EksTokenProvider({ region: target.region });
  }

  async current(): Promise<KubernetesEndpoint> {
    const target = this.target;
    if ('kubeconfig' in target) {
      this.fileEndpoint ??= kubeconfigFileEndpoint(target.kubeconfig, target.context).catch(
        (error: unknown) => {
          this.fileEndpoint = undefined; // a file that failed to load is read again by the next call
          throw error;
        },
      );
      return this.fileEndpoint;
    }
    const token = await this.tokens!.token(target.eksCluster);
    if (this.eks?.token !== token) {
      const access = await (this.eksAccess ??= describeCluster(target.eksCluster, target.region).catch(
        (error: unknown) => {
          this.eksAccess = undefined; // a failed DescribeCluster is retried by the next call
          throw error;
        },
      ));
      this.eks = { token, endpoint: eksEndpoint({ token, ...access }) };
    }
    return this.eks.endpoint;
  }
}

async function describeCluster(name: string, region: string) {
  const { cluster } = await new EKSClient({ region }).send(new DescribeClusterCommand({ name }));
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new ConfigError(`EKS cluster ${name} has no endpoint or certificate authority yet (is it ACTIVE?)`);
  }
  return { endpoint: cluster.endpoint, certificateAuthorityData: cluster.certificateAuthority.data };
}
