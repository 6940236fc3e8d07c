import { KubeConfig } from './kubernetes-client.js';

/** Local mode and tests: a kubeconfig file, with its current context. */
/** A kubeconfig file at its current context, or at `context` (one of several clusters it holds). */
export function kubeConfigFromFile(path: string, context?: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(path);
  if (context !== undefined) {
    if (!config.getContextObject(context)) {
      const known = config.getContexts().map((c) => c.name);
      throw new Error(
        `kubeconfig ${path} has no context "${context}" (it has: ${known.join(', ') || 'none'})`,
      );
    }
    config.setCurrentContext(context);
  }
  return config;
}

export interface EksAccess {
  /** Name used for the cluster, user and context entries (the EKS cluster name reads well in errors). */
  name: string;
  /** The API server endpoint from DescribeCluster, e.g. https://ABC.gr7.us-east-1.eks.amazonaws.com. */
  endpoint: string;
  /** DescribeCluster's certificateAuthority.data: the base64 PEM of the cluster CA. */
  certificateAuthorityData: string;
  /** A bearer token from eks-token.ts; it expires, so build a new config when the token changes. */
  token: string;
}

/** EKS from a Lambda: no kubeconfig file, only what DescribeCluster returns plus an STS-derived token. */
export function kubeConfigForEks(access: EksAccess): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: access.name,
        server: access.endpoint,
        caData: access.certificateAuthorityData,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: access.name, token: access.token }],
    contexts: [{ name: access.name, cluster: access.name, user: access.name }],
    currentContext: access.name,
  });
  return config;
}
