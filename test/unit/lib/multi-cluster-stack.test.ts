import { BASE_CONTEXT, synthStack } from './stack-fixture.js';

type Resource = { Properties: Record<string, unknown> };
type Environment = Record<string, string>;

const SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-staging-AbCdEf';
/** The single-cluster fixture's cluster first, then a second with a pool of the same name. */
const TWO_CLUSTERS = {
  clusterName: undefined,
  pools: undefined,
  clusters: [
    { name: 'gpu-inference', pools: BASE_CONTEXT.pools },
    {
      name: 'staging',
      pools: [{ ...BASE_CONTEXT.pools[0]!, nodeGroup: 'staging-a100-nodes', maxNodes: 1 }],
      namespaces: ['team-a'],
      webhookSecretArn: SECRET,
      clusterSecurityGroupId: 'sg-0fedcba9876543210',
    },
  ],
};

describe('InferenceBudgetStack with two clusters', () => {
  const single = synthStack();
  const { stack, template } = synthStack(TWO_CLUSTERS, { nag: true });
  const resources = (type: string) => template.findResources(type) as Record<string, Resource>;
  const functions = Object.values(resources('AWS::Lambda::Function')).map((fn) => ({
    description: fn.Properties.Description as string,
    env: (fn.Properties.Environment as { Variables: Environment }).Variables,
  }));
  const ofCluster = (cluster: string) => functions.filter((fn) => fn.env.CLUSTER_NAME === cluster);

  it('keeps the first cluster where the single-cluster stack had it: same resources, same ids', () => {
    const ids = (t: typeof template, type: string) => Object.keys(t.findResources(type)).sort();
    const first = ids(template, 'AWS::Lambda::Function').filter((id) => !id.startsWith('Clusterstaging'));
    expect(first).toEqual(ids(single.template, 'AWS::Lambda::Function'));
    expect(ids(template, 'AWS::DynamoDB::Table')).toEqual(ids(single.template, 'AWS::DynamoDB::Table'));
    expect(stack.clusters.map((cluster) => cluster.config.name)).toEqual(['gpu-inference', 'staging']);
  });

  it('gives each cluster its own five Lambdas, scoped to it in the one shared ledger', () => {
    expect(functions).toHaveLength(10);
    for (const [cluster, keys] of [
      ['gpu-inference', undefined],
      ['staging', 'cluster'],
    ] as const) {
      const own = ofCluster(cluster);
      expect(own).toHaveLength(5);
      for (const fn of own) {
        expect(fn.env).toMatchObject({ EKS_CLUSTER_NAME: cluster });
        expect(fn.env.LEDGER_KEYS).toBe(keys);
      }
    }
    const staging = ofCluster('staging');
    const pools = JSON.parse(staging.find((fn) => fn.env.NODE_POOLS)!.env.NODE_POOLS!) as {
      nodeGroup: string;
    }[];
    expect(pools.map((pool) => pool.nodeGroup)).toEqual(['staging-a100-nodes']);
    // Namespaced in staging only.
    expect(staging.filter((fn) => fn.env.WATCH_NAMESPACE === 'team-a')).toHaveLength(4);
    expect(ofCluster('gpu-inference').filter((fn) => fn.env.WATCH_NAMESPACE)).toHaveLength(0);
    // Every warm-up Lambda knows all clusters, for GET /v1/pools; every remediation Lambda, so that it
    // leaves an alert without a cluster label alone.
    const governing = functions.filter((fn) => fn.env.GOVERNED_CLUSTERS);
    expect(governing.map((fn) => fn.env.GOVERNED_CLUSTERS)).toEqual(Array(4).fill('gpu-inference,staging'));
    expect(governing.filter((fn) => fn.env.ON_CALL_TOPIC_ARN)).toHaveLength(2);
  });

  it("runs each cluster's scheduled pass as its own Lambda on its own schedule and bus", () => {
    template.resourceCountIs('AWS::Events::EventBus', 2);
    const rules = Object.values(resources('AWS::Events::Rule'));
    expect(
      rules.filter((rule) => rule.Properties.ScheduleExpression === 'rate(1 minute)').length,
    ).toBeGreaterThanOrEqual(2);
    const busRules = rules.filter((rule) => rule.Properties.EventBusName);
    expect(new Set(busRules.map((rule) => JSON.stringify(rule.Properties.EventBusName))).size).toBe(2);
  });

  it('gives each cluster its own access entries, webhook endpoint and secret', () => {
    const entries = Object.values(resources('AWS::EKS::AccessEntry')).map(
      (entry) => entry.Properties.ClusterName,
    );
    expect(entries.filter((name) => name === 'gpu-inference')).toHaveLength(5);
    expect(entries.filter((name) => name === 'staging')).toHaveLength(5);
    const apis = Object.values(resources('AWS::ApiGateway::RestApi')).map((api) => api.Properties.Name);
    expect(apis).toEqual(
      expect.arrayContaining(['Test-admission-webhook', 'Test-staging-admission-webhook']),
    );
    template.resourceCountIs('AWS::ApiGateway::RestApi', 3);
    // The first cluster's secret is created; staging's is the one it names.
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    expect(template.toJSON().Outputs.WebhookSecretArnstaging.Value).toBe(SECRET);
    const endpointGroups = Object.values(resources('AWS::EC2::SecurityGroup')).filter((group) =>
      JSON.stringify(group.Properties).includes('admission webhook endpoint'),
    );
    expect(endpointGroups.map((group) => JSON.stringify(group.Properties.SecurityGroupIngress))).toEqual([
      expect.stringContaining('sg-0123456789abcdef0'),
      expect.stringContaining('sg-0fedcba9876543210'),
    ]);
  });

  it("limits each cluster's IAM to its own cluster and node groups", () => {
    const policies = Object.values(resources('AWS::IAM::Policy')).map((policy) =>
      JSON.stringify(policy.Properties),
    );
    const describing = (cluster: string) => policies.filter((p) => p.includes(`:cluster/${cluster}"`));
    expect(describing('staging').length).toBe(5);
    expect(describing('gpu-inference').length).toBe(5);
    for (const policy of describing('staging')) {
      expect(policy).not.toContain(':cluster/gpu-inference"');
      expect(policy).not.toContain('nodegroup/gpu-inference/');
    }
  });

  it('addresses a model by cluster, each route answered by that cluster’s warm-up Lambda', () => {
    const warmUpOf = (cluster: string) =>
      stack.clusters.find((c) => c.config.name === cluster)!.functions.warmUpApi;
    const methods = Object.values(resources('AWS::ApiGateway::Method'));
    const integrated = (fragment: string) =>
      methods.filter((method) => JSON.stringify(method.Properties.Integration ?? {}).includes(fragment))
        .length;
    const logicalId = (fn: ReturnType<typeof warmUpOf>) =>
      stack.getLogicalId(fn.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
    // Five routes by cluster (the model routes and usage) go to staging's Lambda; the first cluster's also
    // serves the routes without one.
    expect(integrated(logicalId(warmUpOf('staging')))).toBe(5);
    expect(integrated(logicalId(warmUpOf('gpu-inference')))).toBe(11);
    const parts = Object.values(resources('AWS::ApiGateway::Resource')).map((r) => r.Properties.PathPart);
    expect(parts).toEqual(expect.arrayContaining(['clusters', 'gpu-inference', 'staging']));
  });

  it('pages per cluster and pool, on the cluster dimension, and names the cluster', () => {
    const alarms = new Map(
      Object.values(resources('AWS::CloudWatch::Alarm')).map((alarm) => [
        alarm.Properties.AlarmName as string,
        alarm.Properties,
      ]),
    );
    for (const name of [
      'Test-ReconcileStale-gpu-inference',
      'Test-ReconcileStale-staging',
      'Test-PoolUtilizationHigh-gpu-inference-gpu-a100',
      'Test-PoolUtilizationHigh-staging-gpu-a100',
      'Test-LambdaErrors-staging-ReconcileScheduled',
      'Test-ReconcileFailuresQueued-staging',
      'Test-WebhookClientErrors-staging',
      'Test-ApiServerErrors-WarmUpApi',
      'Test-LedgerThrottled',
    ]) {
      expect(alarms.has(name)).toBe(true);
    }
    expect(alarms.get('Test-ReconcileStale-staging')!.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'service', Value: 'inference-budget-control-plane' },
        { Name: 'cluster', Value: 'staging' },
      ]),
    );
    expect(alarms.get('Test-PoolUtilizationHigh-staging-gpu-a100')!.AlarmDescription).toContain(
      'Pool gpu-a100 (cluster staging):',
    );
  });

  it('gives the dashboard a cluster variable', () => {
    const [dashboard] = Object.values(resources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    expect(body).toContain('\\"variables\\":[{\\"property\\":\\"cluster\\",\\"type\\":\\"property\\"');
    expect(body).toContain('\\"values\\":[{\\"value\\":\\"gpu-inference\\"},{\\"value\\":\\"staging\\"}]');
  });

  it('outputs each cluster’s webhook URL, secret and install commands', () => {
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'DashboardName',
      'KubernetesInstall',
      'KubernetesInstallstaging',
      'LedgerTableName',
      'OnCallTopicArn',
      'PrometheusWorkspaceArn',
      'WarmUpApiUrl',
      'WebhookBaseUrl',
      'WebhookBaseUrlstaging',
      'WebhookSecretArn',
      'WebhookSecretArnstaging',
    ]);
    expect(template.toJSON().Outputs.KubernetesInstallstaging.Value).toBe(
      'kubectl apply -k deploy/namespaced/ && kubectl apply -n team-a -k deploy/rbac/namespace/',
    );
  });
});
