import type { SignatureV4 } from '@smithy/signature-v4';
import { awsSigner, type SigningCredentials } from './sigv4.js';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** EKS accepts a token for 15 minutes after it was signed; renewing after 14 leaves a minute of slack. */
export const TOKEN_CACHE_MS = 14 * 60_000;
/** What aws-iam-authenticator and `aws eks get-token` put in the URL; EKS itself enforces the 15 minutes. */
const PRESIGN_EXPIRES_SECONDS = 60;

export interface EksTokenOptions {
  region: string;
  /** Defaults to the SDK's default provider chain (env, shared config, web identity, ECS/EC2 roles). */
  credentials?: SigningCredentials;
  /** Replaces https://sts.<region>.amazonaws.com (tests point it at moto). */
  endpoint?: string;
  clock?: () => number;
}

/**
 * Bearer tokens for the EKS API server: a presigned STS GetCallerIdentity URL whose signature covers
 * the `x-k8s-aws-id: <cluster>` header, so a token for one cluster is useless for another.
 */
export class EksTokenProvider {
  private readonly signer: SignatureV4;
  private readonly endpoint: URL;
  private readonly clock: () => number;
  private readonly cache = new Map<string, { token: Promise<string>; renewAt: number }>();

  constructor(options: EksTokenOptions) {
    this.signer = awsSigner('sts', options.region, options.credentials);
    this.endpoint = new URL(options.endpoint ?? `https://sts.${options.region}.amazonaws.com`);
    this.clock = options.clock ?? Date.now;
  }

  /** Concurrent callers share one signing; a failed one is not cached. */
  token(clusterName: string): Promise<string> {
    const now = this.clock();
    const cached = this.cache.get(clusterName);
    if (cached && now < cached.renewAt) return cached.token;
    const token = this.presign(clusterName, now);
    const entry = { token, renewAt: now + TOKEN_CACHE_MS };
    this.cache.set(clusterName, entry);
    token.catch(() => {
      if (this.cache.get(clusterName) === entry) this.cache.delete(clusterName);
    });
    return token;
  }

  /** The token is this URL, base64url-encoded without padding. */
  private async presignedUrl(clusterName: string, now: number): Promise<string> {
    const { protocol, hostname, host, port } = this.endpoint;
    const signed = await this.signer.presign(
      {
        method: 'GET',
        protocol,
        hostname,
        ...(port && { port: Number(port) }),
        path: '/',
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        headers: { host, [CLUSTER_ID_HEADER]: clusterName },
      },
      { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: new Date(now) },
    );
    const query = Object.entries(signed.query ?? {})
      .flatMap(([key, values]) =>
        [values ?? ''].flat().map((value) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`),
      )
      .join('&');
    return `${protocol}//${host}/?${query}`;
  }

  private async presign(clusterName: string, now: number): Promise<string> {
    const url = await this.presignedUrl(clusterName, now);
    return TOKEN_PREFIX + Buffer.from(url).toString('base64url');
  }
}
