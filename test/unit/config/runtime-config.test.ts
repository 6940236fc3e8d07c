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
