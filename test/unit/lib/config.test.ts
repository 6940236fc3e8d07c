import { ConfigError, contextObject, parseConfig } from '../../../lib/config.js';

const POOL = {
  name: 'gpu-a100',
  nodeGroup: 'gpu-a100-nodes',
  gpuMemoryPerNode: '320Gi',
  minNodes: 0,
  maxNodes: 4,
};
const VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0'],
  clusterSecurityGroupId: 'sg-0123456789abcdef0',
};
/** The required settings (the private webhook endpoint, the default, needs the VPC): each test adds its own. */
const REQUIRED = { clusterName: 'c', pools: [POOL], vpc: VPC };

function problems(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('fills defaults around the required fields', () => {
    expect(parseConfig({ clusterName: 'gpu-inference', pools: [POOL], vpc: VPC })).toEqual({
      clusters: [
        {
          name: 'gpu-inference',
          pools: [POOL],
          namespaces: [],
          webhookSecretArn: undefined,
          clusterSecurityGroupId: undefined,
        },
      ],
      scheduleMinutes: 1,
      onCallEmails: [],
      onCallUrls: [],
      controlPlaneName: undefined,
      orphanGraceSeconds: undefined,
      recommendationWindowSeconds: undefined,
      remoteWriteUrl: undefined,
      prometheusQueryUrl: undefined,
      ampWorkspaceArn: undefined,
      vpc: VPC,
      webhookEndpoint: 'private',
      runbookBaseUrl: undefined,
      scaleInStabilisationSeconds: undefined,
      remediationEnvironment: {},
    });
  });

  it('treats empty strings (the cdk.json example) as unset', () => {
    const config = parseConfig({ ...REQUIRED, namespaces: '', remoteWriteUrl: '', onCallUrls: [] });
    expect(config.clusters[0]!.namespaces).toEqual([]);
    expect(config.remoteWriteUrl).toBeUndefined();
  });

  it('accepts strings from -c: numbers and comma-separated lists', () => {
    const config = parseConfig({
      ...REQUIRED,
      scheduleMinutes: '5',
      onCallEmails: 'a@example.com, b@example.com',
    });
    expect(config.scheduleMinutes).toBe(5);
    expect(config.onCallEmails).toEqual(['a@example.com', 'b@example.com']);
  });

  it('takes the governed namespaces (namespaced mode) as a list or, from -c, comma-separated', () => {
    expect(parseConfig({ ...REQUIRED, namespaces: ['team-a', 'team-b'] }).clusters[0]!.namespaces).toEqual([
      'team-a',
      'team-b',
    ]);
    expect(parseConfig({ ...REQUIRED, namespaces: 'team-a, team-b' }).clusters[0]!.namespaces).toEqual([
      'team-a',
      'team-b',
    ]);
  });

  it('keeps watchNamespace, the older single-namespace setting, working as namespaces: [it]', () => {
    expect(parseConfig({ ...REQUIRED, watchNamespace: 'inference' }).clusters[0]!.namespaces).toEqual([
      'inference',
    ]);
    expect(parseConfig({ ...REQUIRED, watchNamespace: '' }).clusters[0]!.namespaces).toEqual([]);
    expect(
      parseConfig(
        contextObject((key) =>
          key === 'inferenceBudget'
            ? REQUIRED
            : key === 'inferenceBudget.watchNamespace'
              ? 'inference'
              : undefined,
        ),
      ).clusters[0]!.namespaces,
    ).toEqual(['inference']);
  });

  it.each([undefined, null, {}, { clusterName: '' }])('requires clusterName (%p)', (raw) => {
    expect(problems(raw)).toContain(
      'context "inferenceBudget.clusterName" is required: the EKS cluster this control plane governs',
    );
  });

  it.each([
    [{ clusterName: '-bad' }, 'inferenceBudget.clusterName" must be an EKS cluster name'],
    [{ ...REQUIRED, scheduleMinutes: 0 }, 'inferenceBudget.scheduleMinutes" must be a whole number'],
    [{ ...REQUIRED, scheduleMinutes: 1.5 }, 'inferenceBudget.scheduleMinutes"'],
    [{ ...REQUIRED, scheduleMinutes: 61 }, 'inferenceBudget.scheduleMinutes"'],
    [{ ...REQUIRED, onCallEmails: ['not-an-email'] }, 'inferenceBudget.onCallEmails" must be a list'],
    [{ ...REQUIRED, onCallEmails: 42 }, 'inferenceBudget.onCallEmails" must be a list'],
    [{ ...REQUIRED, onCallUrls: ['http://plain.example.com'] }, 'inferenceBudget.onCallUrls"'],
    [
      { ...REQUIRED, namespaces: ['team-a', 'Not_A_Namespace'] },
      'inferenceBudget.namespaces" must be a list of Kubernetes namespace names; not valid: ["Not_A_Namespace"]',
    ],
    [{ ...REQUIRED, namespaces: { team: 'a' } }, 'inferenceBudget.namespaces" must be a list'],
    [{ ...REQUIRED, namespaces: ['a', 'b', 'a'] }, 'inferenceBudget.namespaces" lists ["a"] more than once'],
    [
      { ...REQUIRED, watchNamespace: 'Not_A_Namespace' },
      'inferenceBudget.watchNamespace" must be a Kubernetes namespace name',
    ],
    [
      { ...REQUIRED, watchNamespace: 'team-a', namespaces: ['team-b'] },
      'inferenceBudget.watchNamespace" is the older spelling of "namespaces" (one namespace): set one of them, not both',
    ],
    [{ ...REQUIRED, orphanGraceSeconds: -1 }, 'inferenceBudget.orphanGraceSeconds"'],
    [{ ...REQUIRED, remoteWriteUrl: 'ftp://x' }, 'inferenceBudget.remoteWriteUrl" must be an http(s) URL'],
    [{ ...REQUIRED, ampWorkspaceArn: 'arn:aws:s3:::bucket' }, 'inferenceBudget.ampWorkspaceArn"'],
    [{ ...REQUIRED, webhookSecretArn: 'secret' }, 'inferenceBudget.webhookSecretArn"'],
    [{ ...REQUIRED, clustername: 'typo' }, 'inferenceBudget.clustername" is not a known setting'],
    [
      {
        ...REQUIRED,
        remoteWriteUrl: 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write',
      },
      'inferenceBudget.ampWorkspaceArn" is required when "inferenceBudget.remoteWriteUrl" is an AMP URL',
    ],
  ])('rejects %j', (raw, message) => {
    expect(problems(raw)).toContain(message);
  });

  it.each([
    [{ clusterName: 'c' }, 'inferenceBudget.pools" is required'],
    [{ clusterName: 'c', pools: [] }, 'inferenceBudget.pools" is required'],
    [{ clusterName: 'c', pools: ['gpu-a100'] }, 'context inferenceBudget.pools[0] must be an object'],
    [
      { clusterName: 'c', pools: [{ ...POOL, name: 'gpu a100' }] },
      'inferenceBudget.pools[0].name: pool name "gpu a100" is not valid',
    ],
    [
      { clusterName: 'c', pools: [POOL, POOL] },
      'inferenceBudget.pools[1].name: "gpu-a100" is used by another pool',
    ],
    [{ clusterName: 'c', pools: [{ ...POOL, nodeGroup: '' }] }, 'inferenceBudget.pools[0].nodeGroup must be'],
    [
      { clusterName: 'c', pools: [{ ...POOL, gpuMemoryPerNode: '320GB' }] },
      'inferenceBudget.pools[0].gpuMemoryPerNode: ',
    ],
    [
      { clusterName: 'c', pools: [{ ...POOL, gpuMemoryPerNode: '0Gi' }] },
      'pools[0].gpuMemoryPerNode must be more than 0',
    ],
    [
      { clusterName: 'c', pools: [{ ...POOL, maxNodes: 0 }] },
      'inferenceBudget.pools[0].maxNodes must be at least 1',
    ],
    [
      { clusterName: 'c', pools: [{ ...POOL, minNodes: -1 }] },
      'inferenceBudget.pools[0].minNodes must be a whole number',
    ],
    [
      { clusterName: 'c', pools: [{ ...POOL, minNodes: 5, maxNodes: 4 }] },
      'inferenceBudget.pools[0].minNodes (5) is more than maxNodes (4)',
    ],
    [
      { clusterName: 'c', pools: [{ ...POOL, gpus: 8 }] },
      'inferenceBudget.pools[0].gpus is not a node pool field',
    ],
    [
      { ...REQUIRED, scaleInStabilisationSeconds: 10 },
      'inferenceBudget.scaleInStabilisationSeconds" must be',
    ],
    [{ ...REQUIRED, vpc: 'vpc-1' }, 'inferenceBudget.vpc" must be an object'],
    [{ ...REQUIRED, vpc: { vpcId: 'vpc-0123456789abcdef0' } }, 'inferenceBudget.vpc.subnetIds" must be'],
    [
      { ...REQUIRED, vpc: { vpcId: 'nope', subnetIds: ['subnet-0123456789abcdef0'] } },
      'inferenceBudget.vpc.vpcId" must be a VPC id',
    ],
    [
      {
        ...REQUIRED,
        vpc: {
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          clusterSecurityGroupId: 'x',
        },
      },
      'inferenceBudget.vpc.clusterSecurityGroupId" must be a security group id',
    ],
    [
      { ...REQUIRED, runbookBaseUrl: 'https://example.com/runbooks' },
      'runbookBaseUrl" must be an https:// URL ending in /',
    ],
  ])('rejects pools, vpc and runbook settings: %j', (raw, message) => {
    expect(problems(raw)).toContain(message);
  });

  it('accepts a VPC and a runbook base URL', () => {
    const vpc = {
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      clusterSecurityGroupId: 'sg-0123456789abcdef0',
    };
    const config = parseConfig({ ...REQUIRED, vpc, runbookBaseUrl: 'https://wiki.example.com/runbooks/' });
    expect(config.vpc).toEqual(vpc);
    expect(config.runbookBaseUrl).toBe('https://wiki.example.com/runbooks/');
  });

  it('reports every problem at once', () => {
    const message = problems({ scheduleMinutes: 0, onCallEmails: ['x'] });
    expect(message).toContain('clusterName');
    expect(message).toContain('scheduleMinutes');
    expect(message).toContain('onCallEmails');
  });
});

describe('contextObject', () => {
  it('lays flat -c keys over the inferenceBudget object', () => {
    const context: Record<string, unknown> = {
      inferenceBudget: { clusterName: 'from-json', scheduleMinutes: 2 },
      'inferenceBudget.clusterName': 'from-flag',
    };
    expect(contextObject((key) => context[key])).toEqual({ clusterName: 'from-flag', scheduleMinutes: 2 });
  });

  it('reads pools and vpc given with -c as JSON, and leaves malformed JSON for parseConfig to report', () => {
    const context: Record<string, unknown> = {
      'inferenceBudget.clusterName': 'c',
      'inferenceBudget.pools': JSON.stringify([POOL]),
      'inferenceBudget.vpc': '{not json',
    };
    const merged = contextObject((key) => context[key]);
    expect(merged.pools).toEqual([POOL]);
    expect(problems(merged)).toContain('inferenceBudget.vpc" must be an object');
  });

  it('is empty without any context', () => {
    expect(contextObject(() => undefined)).toEqual({});
  });
});

describe('parseConfig webhookEndpoint', () => {
  it('is private by default, which needs the cluster VPC and its security group', () => {
    expect(problems({ clusterName: 'c', pools: [POOL] })).toContain(
      'context "inferenceBudget.vpc" is required for the private webhook endpoint (the default)',
    );
    const { clusterSecurityGroupId: _, ...withoutGroup } = VPC;
    expect(problems({ ...REQUIRED, vpc: withoutGroup })).toContain(
      'context "inferenceBudget.vpc.clusterSecurityGroupId" is required for the private webhook endpoint',
    );
  });

  it('is public only when asked, and then needs no VPC', () => {
    const config = parseConfig({ clusterName: 'c', pools: [POOL], webhookEndpoint: 'public' });
    expect(config).toMatchObject({ webhookEndpoint: 'public', vpc: undefined });
    expect(problems({ ...REQUIRED, webhookEndpoint: 'internet' })).toContain(
      'context "inferenceBudget.webhookEndpoint" must be "private" or "public", got "internet"',
    );
  });
});

describe('parseConfig remediation', () => {
  it('turns the settings into the remediation Lambda environment', () => {
    const config = parseConfig({
      ...REQUIRED,
      remediation: {
        GPUMemoryUsageHigh: 'enabled',
        maxActionsPerHour: 2,
        maxActionsPerHourTotal: 5,
        trainingLossRestart: true,
      },
    });
    expect(config.remediationEnvironment).toEqual({
      REMEDIATION_GPU_MEMORY_USAGE_HIGH: 'enabled',
      REMEDIATION_MAX_ACTIONS_PER_HOUR: '2',
      REMEDIATION_MAX_ACTIONS_PER_HOUR_TOTAL: '5',
      REMEDIATION_TRAINING_LOSS_RESTART: 'true',
    });
  });

  it.each([
    [
      { GPUMemoryUsageHigh: 'sometimes' },
      'inferenceBudget.remediation.GPUMemoryUsageHigh" is not valid: REMEDIATION_GPU',
    ],
    [{ maxActionsPerHour: 0 }, 'inferenceBudget.remediation.maxActionsPerHour" is not valid'],
    [{ latencyScaleBackAfter: 'soon' }, 'inferenceBudget.remediation.latencyScaleBackAfter" is not valid'],
    [{ restartEverything: true }, 'inferenceBudget.remediation.restartEverything" is not a known setting'],
    ['enabled', 'inferenceBudget.remediation" must be an object'],
  ])('refuses %j with the handler’s own reason', (remediation, message) => {
    expect(problems({ ...REQUIRED, remediation })).toContain(message);
  });
});
