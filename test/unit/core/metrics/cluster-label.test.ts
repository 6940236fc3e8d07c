import { clusterMetrics } from '../../../../lambdas/core/metrics/cluster-label.js';
import { publishWarmUpRejection, type MetricsPorts } from '../../../../lambdas/core/metrics/publish.js';
import type { HistogramState, MetricCounters, Sample } from '../../../../lambdas/core/metrics/series.js';

/** One counter store and one sink shared by two clusters, as the ledger table and AMP are. */
function shared() {
  const totals = new Map<string, number>();
  const keys: string[] = [];
  const written: Sample[] = [];
  const counters: MetricCounters = {
    async increment(metric, labels, by) {
      const key = `${metric}${JSON.stringify(labels)}`;
      keys.push(key);
      totals.set(key, (totals.get(key) ?? 0) + by);
      return totals.get(key)!;
    },
    async observe(metric, labels, buckets): Promise<HistogramState> {
      keys.push(`${metric}${JSON.stringify(labels)}`);
      return { buckets, counts: buckets.map(() => 0), sum: 0, count: 0 };
    },
  };
  const ports: MetricsPorts = {
    operational: {
      reconcilePass: () => undefined,
      warmUpRejected: () => undefined,
      nodePools: () => undefined,
      heldMemory: () => undefined,
    },
    series: { write: async (samples) => void written.push(...samples) },
    counters,
    clock: () => 1_700_000_000_000,
    controlPlane: 'ibcp',
  };
  return { ports, written, keys };
}

describe('clusterMetrics', () => {
  it('labels every series with its cluster and keeps the seed names', async () => {
    const { ports, written } = shared();
    await publishWarmUpRejection(clusterMetrics(ports, 'production'), 'gpu-a100');
    expect(written).toEqual([
      {
        metric: 'inference_warmup_rejections_total',
        labels: { node_pool: 'gpu-a100', cluster: 'production' },
        value: 1,
        timestampMs: 1_700_000_000_000,
      },
    ]);
  });

  it('counts each cluster apart, however its pools are named', async () => {
    const { ports, written } = shared();
    await publishWarmUpRejection(clusterMetrics(ports, 'production'), 'gpu-a100');
    await publishWarmUpRejection(clusterMetrics(ports, 'production'), 'gpu-a100');
    await publishWarmUpRejection(clusterMetrics(ports, 'staging'), 'gpu-a100');
    expect(written.map((sample) => [sample.labels.cluster, sample.value])).toEqual([
      ['production', 1],
      ['production', 2],
      ['staging', 1],
    ]);
  });

  it('writes nothing to Prometheus when the deployment has no workspace', async () => {
    const { ports, keys } = shared();
    const labelled = clusterMetrics({ ...ports, series: undefined }, 'production');
    expect(labelled.series).toBeUndefined();
    await publishWarmUpRejection(labelled, 'gpu-a100');
    expect(keys).toEqual([]);
  });
});
