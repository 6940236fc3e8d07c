import { createHash, createHmac } from 'node:crypto';
import { EksTokenProvider, TOKEN_CACHE_MS } from '../../../lambdas/adapters/eks-token.js';
import { harnessEnv } from '../../../services/service.js';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const t0 = Date.parse('2030-01-02T03:04:05Z');

function decode(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const encoded = token.slice('k8s-aws-v1.'.length);
  // base64url without padding: no '+', '/' or '='.
  expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
}

/** SigV4 query signing recomputed from the AWS documentation, independent of the signer under test. */
function expectedSignature(url: URL, clusterName: string, secret: string): string {
  const params = [...url.searchParams.entries()].filter(([key]) => key !== 'X-Amz-Signature');
  const rfc3986 = (s: string): string =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = params
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a = '', x = ''], [b = '', y = '']) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const emptyPayload = createHash('sha256').update('').digest('hex');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery,
    `host:${url.host}\nx-k8s-aws-id:${clusterName}\n`,
    'host;x-k8s-aws-id',
    emptyPayload,
  ].join('\n');
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  const [, date = '', region = '', service = ''] = (url.searchParams.get('X-Amz-Credential') ?? '').split(
    '/',
  );
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    `${date}/${region}/${service}/aws4_request`,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string): Buffer =>
    createHmac('sha256', key).update(data).digest();
  const key = [date, region, service, 'aws4_request'].reduce<Buffer | string>(
    (k, part) => hmac(k, part),
    `AWS4${secret}`,
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

describe('EKS token', () => {
  it('is a presigned STS GetCallerIdentity URL that signs the cluster header', async () => {
    const provider = new EksTokenProvider({ region: 'eu-west-1', credentials, clock: () => t0 });
    const url = decode(await provider.token('prod-gpu'));

    expect(url.origin).toBe('https://sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    const query = Object.fromEntries(url.searchParams);
    expect(query).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'AKIDEXAMPLE/20300102/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20300102T030405Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
    });
    expect(query['X-Amz-Signature']).toBe(expectedSignature(url, 'prod-gpu', credentials.secretAccessKey));
  });

  it('is cached per cluster for 14 minutes, then signed anew', async () => {
    let now = t0;
    let resolved = 0;
    const provider = new EksTokenProvider({
      region: 'us-east-1',
      credentials: async () => {
        resolved += 1;
        return credentials;
      },
      clock: () => now,
    });
    const first = await provider.token('a');
    now = t0 + TOKEN_CACHE_MS - 1;
    await expect(provider.token('a')).resolves.toBe(first);
    expect(resolved).toBe(1);

    const other = await provider.token('b');
    expect(other).not.toBe(first);
    expect(decode(other).searchParams.get('X-Amz-Date')).toBe('20300102T031804Z');

    now = t0 + TOKEN_CACHE_MS;
    const renewed = await provider.token('a');
    expect(renewed).not.toBe(first);
    expect(decode(renewed).searchParams.get('X-Amz-Date')).toBe('20300102T031805Z');
    expect(TOKEN_CACHE_MS).toBe(14 * 60_000);
  });

  it('does not cache a failed signing', async () => {
    let fail = true;
    const provider = new EksTokenProvider({
      region: 'us-east-1',
      credentials: async () => {
        if (fail) throw new Error('no credentials yet');
        return credentials;
      },
    });
    await expect(provider.token('a')).rejects.toThrow('no credentials yet');
    fail = false;
    await expect(provider.token('a')).resolves.toMatch(/^k8s-aws-v1\./);
  });

  it("is accepted by moto's STS with the default credential chain", async () => {
    const endpoint = harnessEnv('IBCP_MOTO_ENDPOINT');
    const provider = new EksTokenProvider({ region: 'us-east-1', endpoint });
    const url = decode(await provider.token('moto-cluster'));
    expect(url.origin).toBe(endpoint);
    // The harness exports moto's fake credentials; the default chain must have found them.
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(
      /^testing\/\d{8}\/us-east-1\/sts\/aws4_request$/,
    );

    // moto's single server picks the service from an Authorization header's credential scope and never
    // checks signatures; without the header a presigned GET lands in its S3. The header only routes.
    const response = await fetch(url, {
      headers: {
        'x-k8s-aws-id': 'moto-cluster',
        authorization: `AWS4-HMAC-SHA256 Credential=${url.searchParams.get('X-Amz-Credential')}, SignedHeaders=host;x-k8s-aws-id, Signature=${url.searchParams.get('X-Amz-Signature')}`,
      },
    });
    const body = await response.text();
    expect(response.status).toBe(200);
    expect(body).toContain('<GetCallerIdentityResponse');
    expect(body).toContain('<Account>');
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, 'moto-cluster', 'testing'));
  });
});
