import { ConfigError, runtimeConfig } from '../../../lambdas/config.js';

const Gi = 2 ** 30;
const base = { LEDGER_TABLE: 'ledger', KUBECONFIG: '/tmp/kubeconfig' };
const pools = JSON.stringify([
  { name: 'gpu-a100', nodeGroup: 'gpu-a100-ng', gpuMemoryPerNode: '320Gi', minNodes: 0, maxNodes: 4 },
]);

describe('runtimeConfig: governed namespaces', () => {
  it('governs the whole cluster without WATCH_NAMESPACE, else the namespaces it lists', () => {
    expect(runtimeConfig(base).watchNamespaces).toBeUndefined();
    expect(runtimeConfig({ ...base, WATCH_NAMESPACE: 'team-a' }).watchNamespaces).toEqual(['team-a']);
    expect(runtimeConfig({ ...base, WATCH_NAMESPACE: 'team-a, team-b' }).watchNamespaces).toEqual([
      'team-a',
      'team-b',
    ]);
  });

  it('refuses a list with a name that is not a namespace', () => {
    expect(() => runtimeConfig({ ...base, WATCH_NAMESPACE: 'team-a,,Team_B' })).toThrow(
      'WATCH_NAMESPACE must be namespace names separated by commas; not valid: ["","Team_B"]',
    );
  });
});

describe('runtimeConfig: node pools', () => {
  it('reads NODE_POOLS, the cluster of their node groups and the stabilisation window', () => {
    const config = runtimeConfig({
      ...base,
      NODE_POOLS: pools,
      EKS_CLUSTER_NAME: 'prod',
      SCALE_IN_STABILISATION_SECONDS: '300',
    });
    expect(config.nodePools).toEqual([
      { name: 'gpu-a100', nodeGroup: 'gpu-a100-ng', bytesPerNode: 320 * Gi, minNodes: 0, maxNodes: 4 },
    ]);
    expect(config.nodeGroupCluster).toBe('prod');
    expect(config.scaleInStabilisationMs).toBe(300_000);
  });

  it('without NODE_POOLS there is no node scaling, and the window defaults to 10 minutes', () => {
    expect(runtimeConfig(base)).toMatchObject({
      nodePools: [],
      nodeGroupCluster: undefined,
      scaleInStabilisationMs: 600_000,
    });
  });

  it.each([
    [{ NODE_POOLS: pools }, 'environment variable EKS_CLUSTER_NAME is required'],
    [
      { NODE_POOLS: '[{"name":"gpu"}]', EKS_CLUSTER_NAME: 'prod' },
      'NODE_POOLS[0].nodeGroup must be a non-empty string',
    ],
    [
      { SCALE_IN_STABILISATION_SECONDS: '10m' },
      'SCALE_IN_STABILISATION_SECONDS must be a whole number of seconds',
    ],
  ])('refuses a bad deployment with a clear ConfigError (%j)', (env, message) => {
    expect(() => runtimeConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => runtimeConfig({ ...base, ...env })).toThrow(message);
  });
});

describe('runtimeConfig: the cluster served', () => {
  it('is unscoped without CLUSTER_NAME (local mode of one cluster, tests)', () => {
    expect(runtimeConfig(base)).toMatchObject({ cluster: undefined, governedClusters: [] });
  });

  it('keeps the single-cluster ledger keys unless LEDGER_KEYS says cluster', () => {
    expect(runtimeConfig({ ...base, CLUSTER_NAME: 'prod' }).cluster).toEqual({
      cluster: 'prod',
      legacyKeys: true,
    });
    expect(runtimeConfig({ ...base, CLUSTER_NAME: 'staging', LEDGER_KEYS: 'cluster' }).cluster).toEqual({
      cluster: 'staging',
      legacyKeys: false,
    });
  });

  it('reads the kubeconfig context a cluster is reached at (local mode of several clusters)', () => {
    expect(runtimeConfig({ ...base, KUBE_CONTEXT: 'b' }).kubernetes).toEqual({
      kubeconfig: '/tmp/kubeconfig',
      context: 'b',
    });
  });

  it('knows every governed cluster, the first keeping the single-cluster keys', () => {
    const config = runtimeConfig({
      ...base,
      CLUSTER_NAME: 'staging',
      LEDGER_KEYS: 'cluster',
      GOVERNED_CLUSTERS: 'prod, staging',
    });
    expect(config.governedClusters).toEqual([
      { cluster: 'prod', legacyKeys: true },
      { cluster: 'staging', legacyKeys: false },
    ]);
  });

  it.each([
    [{ CLUSTER_NAME: 'bad name' }, 'CLUSTER_NAME must be an EKS cluster name, got "bad name"'],
    [
      { CLUSTER_NAME: 'prod', LEDGER_KEYS: 'shared' },
      'LEDGER_KEYS must be "legacy" or "cluster", got "shared"',
    ],
    [{ LEDGER_KEYS: 'cluster' }, 'LEDGER_KEYS needs CLUSTER_NAME, the cluster it scopes'],
    [
      { CLUSTER_NAME: 'prod', GOVERNED_CLUSTERS: 'staging' },
      'GOVERNED_CLUSTERS must list CLUSTER_NAME ("prod")',
    ],
    [
      { CLUSTER_NAME: 'prod', LEDGER_KEYS: 'cluster', GOVERNED_CLUSTERS: 'prod,staging' },
      'LEDGER_KEYS must be "legacy" for the first cluster of GOVERNED_CLUSTERS and "cluster" for every other',
    ],
    [{ GOVERNED_CLUSTERS: 'prod' }, 'GOVERNED_CLUSTERS needs CLUSTER_NAME, the cluster this Lambda serves'],
    [
      { CLUSTER_NAME: 'prod', GOVERNED_CLUSTERS: 'prod,prod' },
      'GOVERNED_CLUSTERS names a cluster twice: prod,prod',
    ],
    [{ KUBECONFIG: '', KUBE_CONTEXT: 'a' }, 'KUBE_CONTEXT needs KUBECONFIG, the file that holds the context'],
    [
      { GOVERNED_CLUSTERS: 'prod,,x' },
      'GOVERNED_CLUSTERS must be cluster names separated by commas; not valid: [""]',
    ],
  ])('refuses %j with a clear ConfigError', (env, message) => {
    expect(() => runtimeConfig({ ...base, ...env })).toThrow(new ConfigError(message));
  });
});
