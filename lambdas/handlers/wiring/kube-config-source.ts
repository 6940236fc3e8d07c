import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import type { KubeConfig } from '@kubernetes/client-node';
import { EksTokenProvider } from '../../adapters/eks-token.js';
import { kubeConfigForEks, kubeConfigFromFile } from '../../adapters/kube-config.js';
import { ConfigError, type KubernetesTarget } from '../../config.js';

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
      this.config ??= { token: '', kubeConfig: kubeConfigFromFile(target.kubeconfig, target.context) };
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

async function describeCluster(name: string, region: string) {
  const { cluster } = await new EKSClient({ region }).send(new DescribeClusterCommand({ name }));
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new ConfigError(`EKS cluster ${name} has no endpoint or certificate authority yet (is it ACTIVE?)`);
  }
  return { endpoint: cluster.endpoint, certificateAuthorityData: cluster.certificateAuthority.data };
}
