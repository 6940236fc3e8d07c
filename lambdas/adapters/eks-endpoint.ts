import type { KubernetesEndpoint } from './kubernetes-api.js';

interface EksAccess {
  /** The API server endpoint from DescribeCluster, e.g. https://ABC.gr7.us-east-1.eks.amazonaws.com. */
  endpoint: string;
  /** DescribeCluster's certificateAuthority.data: the base64 PEM of the cluster CA. */
  certificateAuthorityData: string;
  /** A bearer token from eks-token.ts; it expires, so build a new endpoint when the token changes. */
  token: string;
}

/** EKS from a Lambda: no kubeconfig file, only what DescribeCluster returns plus an STS-derived token. */
export function eksEndpoint(access: EksAccess): KubernetesEndpoint {
  const credentials = {
    tls: { ca: Buffer.from(access.certificateAuthorityData, 'base64') },
    headers: { authorization: `Bearer ${access.token}` },
  };
  return { server: access.endpoint, credentials: async () => credentials };
}
