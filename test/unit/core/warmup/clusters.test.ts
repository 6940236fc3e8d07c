import { InMemoryAdmissionQueue } from '../../../../lambdas/core/queue/in-memory-queue.js';
import { InMemoryLedger } from '../../../../lambdas/core/ledger/in-memory-ledger.js';
import { parseRequest } from '../../../../lambdas/core/api/routes.js';
import {
  answerClusterRequest,
  answerUsage,
  checkServedCluster,
  ModelCache,
  type ClusterRequest,
  type Fleet,
} from '../../../../lambdas/core/warmup/api.js';
import type { WarmUpPorts } from '../../../../lambdas/core/warmup/warm-up.js';
import { inferenceModel } from '../../../support/builders.js';
import { FakeCluster, RecordingLog } from '../../../support/fake-cluster.js';

/**
 * The warm-up API of a deployment of several clusters (docs/warmup-api.md#clusters): each cluster's Lambda
 * answers the routes by cluster for its own, and `GET /v1/pools` shows every cluster's pools.
 */
const Gi = 2 ** 30;
const NOW = 1_700_000_000_000;
const a100 = { name: 'gpu-a100', totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng' };

async function clusterPorts(): Promise<WarmUpPorts> {
  const ledger = new InMemoryLedger();
  await ledger.definePool(a100);
  return {
    cluster: new FakeCluster(),
    ledger,
    log: new RecordingLog(),
    clock: () => NOW,
    reconcileRequests: { request: async () => undefined },
    metrics: {} as WarmUpPorts['metrics'],
    sleep: async () => undefined,
    reconcileIntervalMs: 60_000,
  };
}

function request(method: string, path: string): ClusterRequest {
  return parseRequest({ method, path, query: null, body: null }) as ClusterRequest;
}

describe('the warm-up API of several clusters', () => {
  it('GET /v1/pools groups every cluster’s pools, the same pool name in each', async () => {
    const ports = await clusterPorts();
    await ports.ledger.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 32 * Gi, now: NOW });
    const stagingLedger = new InMemoryLedger();
    await stagingLedger.definePool({ ...a100, totalBytes: 40 * Gi });
    const stagingQueue = new InMemoryAdmissionQueue();
    await stagingQueue.enqueue({
      pool: 'gpu-a100',
      holder: 'ml/mixtral',
      priority: 0,
      bytes: 64 * Gi,
      at: NOW,
    });
    const fleet: Fleet = {
      own: 'production',
      others: [{ name: 'staging', ledger: stagingLedger, queue: stagingQueue }],
    };
    const answer = await answerClusterRequest(ports, request('GET', '/v1/pools'), new ModelCache(), fleet);
    const body = answer.body as {
      clusters: {
        name: string;
        pools: { name: string; total: string; allocated: string; queue: unknown[] }[];
      }[];
      pools: { cluster: string; name: string; total: string }[];
    };
    expect(body.clusters.map((c) => [c.name, c.pools.map((p) => [p.name, p.total, p.allocated])])).toEqual([
      ['production', [['gpu-a100', '80Gi', '32Gi']]],
      ['staging', [['gpu-a100', '40Gi', '0']]],
    ]);
    expect(body.clusters[1]!.pools[0]!.queue).toEqual([expect.objectContaining({ holder: 'ml/mixtral' })]);
    expect(body.pools.map((p) => [p.cluster, p.name, p.total])).toEqual([
      ['production', 'gpu-a100', '80Gi'],
      ['staging', 'gpu-a100', '40Gi'],
    ]);
  });

  it('GET /v1/pools of an unscoped single-cluster deployment is unchanged', async () => {
    const answer = await answerClusterRequest(
      await clusterPorts(),
      request('GET', '/v1/pools'),
      new ModelCache(),
    );
    expect(Object.keys(answer.body as object)).toEqual(['pools']);
  });

  it('a warm-up addressed to a cluster is polled at its route by cluster', async () => {
    const ports = await clusterPorts();
    (ports.cluster as FakeCluster).put(inferenceModel('llama', { memory: '16Gi' }));
    const answer = await answerClusterRequest(
      ports,
      request('POST', '/v1/clusters/production/models/ml/llama/warmup'),
      new ModelCache(),
      { own: 'production', others: [] },
    );
    expect(answer.status).toBe(202);
    expect(answer.headers).toEqual({ Location: '/v1/clusters/production/models/ml/llama' });
  });

  it('a Lambda answers the routes of its own cluster only', () => {
    const fleet: Fleet = { own: 'production', others: [] };
    expect(() => checkServedCluster('production', fleet)).not.toThrow();
    expect(() => checkServedCluster(undefined, fleet)).not.toThrow();
    expect(() => checkServedCluster('staging', fleet)).toThrow(
      'Cluster "staging" is not governed by this control plane',
    );
    expect(() => checkServedCluster('production', { own: undefined, others: [] })).toThrow(/not governed/);
  });

  it('showback names the cluster it metered', async () => {
    const ledger = new InMemoryLedger();
    await ledger.definePool(a100);
    const hour = NOW - (NOW % 3_600_000) - 3_600_000;
    const held = {
      hourStartMs: hour,
      pool: 'gpu-a100',
      namespace: 'ml',
      model: 'llama',
      byteSeconds: 80 * Gi * 3600,
    };
    const sources = (cluster: string | undefined) => () => ({
      cluster,
      usage: { read: async () => [held] },
      ledger,
      nodePools: [],
    });
    const scoped = await answerUsage(sources('staging'), '24h', NOW);
    expect(scoped.body).toMatchObject({
      cluster: 'staging',
      namespaces: [{ namespace: 'ml', gpuNodeHours: 1 }],
    });
    const unscoped = await answerUsage(sources(undefined), '24h', NOW);
    expect(unscoped.body).not.toHaveProperty('cluster');
  });
});
