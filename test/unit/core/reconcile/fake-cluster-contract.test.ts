// The Cluster contract (test/support/cluster-contract.ts) on the in-memory FakeCluster the unit tests use;
// the same cases run on the real adapter in test/integration/adapters/kubernetes-cluster-contract.test.ts.
import { holderOf } from '../../../../lambdas/core/inference-model.js';
import { clusterContract } from '../../../support/cluster-contract.js';
import { FakeCluster } from '../../../support/fake-cluster.js';

describe('FakeCluster keeps the Cluster contract', () => {
  clusterContract(() => {
    const cluster = new FakeCluster();
    return {
      cluster,
      namespace: 'contract',
      store: async (model) => structuredClone(cluster.put(structuredClone(model))),
      startDeleting: async (ref) => {
        const stored = cluster.models.get(holderOf(ref));
        if (stored) stored.deleting = true;
      },
    };
  });
});
