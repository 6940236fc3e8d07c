import { ConfigError, contextObject, parseConfig } from '../../../lib/config.js';

const POOL = {
  name: 'gpu-a100',
  nodeGroup: 'gpu-a100-nodes',
  gpuMemoryPerNode: '320Gi',
  minNodes: 0,
  maxNodes: 4,
};
const L4 = { name: 'default', nodeGroup: 'gpu-l4-nodes', gpuMemoryPerNode: '96Gi', minNodes: 0, maxNodes: 6 };
const VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0'],
  clusterSecurityGroupId: 'sg-0123456789abcdef0',
};
const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-staging-AbCdEf';
const TWO = [
  { name: 'production', pools: [POOL, L4] },
  { name: 'staging', pools: [{ ...POOL, maxNodes: 1 }], namespaces: ['team-a'], webhookSecretArn: SECRET },
];

function problems(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('clusters', () => {
  it('reads the single-cluster form as the one-element list', () => {
    const single = parseConfig({ clusterName: 'production', pools: [POOL, L4], vpc: VPC, namespaces: ['a'] });
    const listed = parseConfig({
      clusters: [{ name: 'production', pools: [POOL, L4] }],
      vpc: VPC,
      namespaces: ['a'],
    });
    expect(listed).toEqual(single);
    expect(single.clusters).toEqual([
      {
        name: 'production',
        pools: [POOL, L4],
        namespaces: ['a'],
        webhookSecretArn: undefined,
        clusterSecurityGroupId: undefined,
      },
    ]);
  });

  it('gives each cluster its pools, namespaces (else the top-level ones) and webhook secret', () => {
    const config = parseConfig({ clusters: TWO, vpc: VPC, namespaces: ['shared'] });
    expect(
      config.clusters.map(({ name, namespaces, webhookSecretArn }) => ({
        name,
        namespaces,
        webhookSecretArn,
      })),
    ).toEqual([
      { name: 'production', namespaces: ['shared'], webhookSecretArn: undefined },
      { name: 'staging', namespaces: ['team-a'], webhookSecretArn: SECRET },
    ]);
    // Pool names repeat across clusters: each cluster's budgets are its own.
    expect(config.clusters.map((cluster) => cluster.pools[0]!.name)).toEqual(['gpu-a100', 'gpu-a100']);
  });

  it("takes clusters from -c over cdk.json's single-cluster form, which empty values clear", () => {
    const context: Record<string, unknown> = {
      inferenceBudget: { clusterName: 'production', pools: [POOL], vpc: VPC },
      'inferenceBudget.clusterName': '',
      'inferenceBudget.pools': '',
      'inferenceBudget.clusters': JSON.stringify(TWO),
    };
    const config = parseConfig(contextObject((key) => context[key]));
    expect(config.clusters.map((cluster) => cluster.name)).toEqual(['production', 'staging']);
  });

  it('takes clusters from -c as JSON', () => {
    const context: Record<string, unknown> = { 'inferenceBudget.clusters': JSON.stringify(TWO) };
    expect(contextObject((key) => context[key]).clusters).toEqual(TWO);
  });

  it.each([
    [{ clusters: [] }, 'context "inferenceBudget.clusters" must be a non-empty list of clusters'],
    [{ clusters: 'production' }, 'context "inferenceBudget.clusters" must be a non-empty list of clusters'],
    [{ clusters: ['production'] }, 'context "inferenceBudget.clusters[0]" must be an object'],
    [{ clusters: [{ pools: [POOL] }] }, 'context "inferenceBudget.clusters[0].name" is required'],
    [
      { clusters: [{ name: '-bad', pools: [POOL] }] },
      'context "inferenceBudget.clusters[0].name" must be an EKS cluster name',
    ],
    [{ clusters: [{ name: 'a' }] }, 'context "inferenceBudget.clusters[0].pools" is required'],
    [
      { clusters: [TWO[0], { name: 'b', pools: [{ ...POOL, maxNodes: 0 }] }] },
      'context inferenceBudget.clusters[1].pools[0].maxNodes must be at least 1',
    ],
    [
      { clusters: [TWO[0], { name: 'b', pools: [POOL, POOL] }] },
      'inferenceBudget.clusters[1].pools[1].name: "gpu-a100" is used by another pool',
    ],
    [
      { clusters: [TWO[0], { ...TWO[0] }] },
      'context "inferenceBudget.clusters[1].name" "production" is used by another cluster',
    ],
    [
      { clusters: [{ ...TWO[0], region: 'eu-west-1' }] },
      'context "inferenceBudget.clusters[0].region" is not a known cluster setting',
    ],
    [
      { clusters: [{ ...TWO[0], namespaces: ['Team_A'] }] },
      'context "inferenceBudget.clusters[0].namespaces" must be a list of Kubernetes namespace names',
    ],
    [
      { clusters: [{ ...TWO[0], webhookSecretArn: 'secret' }] },
      'context "inferenceBudget.clusters[0].webhookSecretArn" must be a Secrets Manager secret ARN',
    ],
    [
      { clusters: [{ ...TWO[0], webhookSecretArn: SECRET }, TWO[1]] },
      'name one webhookSecretArn per cluster: each cluster has a webhook secret of its own',
    ],
    [
      { clusters: [{ ...TWO[0], clusterSecurityGroupId: 'group' }] },
      'context "inferenceBudget.clusters[0].clusterSecurityGroupId" must be a security group id',
    ],
    [
      { clusters: TWO, clusterName: 'production' },
      'context "inferenceBudget.clusterName" cannot be combined with "inferenceBudget.clusters": set it on each cluster',
    ],
    [
      { clusters: TWO, pools: [POOL] },
      'context "inferenceBudget.pools" cannot be combined with "inferenceBudget.clusters"',
    ],
  ])('names the bad field: %j', (raw, message) => {
    expect(problems({ vpc: VPC, ...raw })).toContain(message);
  });

  it("needs each cluster's security group for the private webhook when the VPC names none", () => {
    const vpc = { ...VPC, clusterSecurityGroupId: undefined };
    expect(problems({ clusters: TWO, vpc })).toContain(
      'context "inferenceBudget.clusters[0].clusterSecurityGroupId" (or vpc.clusterSecurityGroupId) is required for the private webhook endpoint',
    );
    const config = parseConfig({
      clusters: TWO.map((cluster, i) => ({ ...cluster, clusterSecurityGroupId: `sg-0123456789abcdef${i}` })),
      vpc,
    });
    expect(config.clusters.map((cluster) => cluster.clusterSecurityGroupId)).toEqual([
      'sg-0123456789abcdef0',
      'sg-0123456789abcdef1',
    ]);
  });
});
