import type { HistogramState, MetricCounters, Sample } from '../../../../lambdas/core/metrics/series.js';
import {
  publishFailedPass,
  publishNodePoolMetrics,
  publishPassMetrics,
  publishWarmUpRejection,
} from '../../../../lambdas/core/metrics/publish.js';
import { bucketIndex } from '../../../../lambdas/core/metrics/catalog.js';
import type { PoolSnapshot } from '../../../../lambdas/core/ledger/ledger.js';
import { inferenceModel, managedDeployment } from '../../../support/builders.js';

const Gi = 2 ** 30;
const now = 1_700_000_000_000;

class MemoryCounters implements MetricCounters {
  private readonly values = new Map<string, number>();
  private readonly histograms = new Map<string, HistogramState>();
  async increment(metric: string, labels: Record<string, string>, by: number) {
    const key = metric + JSON.stringify(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
    return this.values.get(key)!;
  }
  async observe(metric: string, labels: Record<string, string>, buckets: readonly number[], value: number) {
    const key = metric + JSON.stringify(labels);
    const state = this.histograms.get(key) ?? { buckets, counts: buckets.map(() => 0), sum: 0, count: 0 };
    const counts = [...state.counts];
    const i = bucketIndex(buckets, value);
    if (i < counts.length) counts[i]! += 1;
    const next = { buckets, counts, sum: state.sum + value, count: state.count + 1 };
    this.histograms.set(key, next);
    return next;
  }
}

function ports() {
  const written: Sample[] = [];
  const operational: string[] = [];
  return {
    written,
    operational,
    ports: {
      series: { write: async (samples: readonly Sample[]) => void written.push(...samples) },
      operational: {
        reconcilePass: () => void operational.push('pass'),
        warmUpRejected: (pool: string) => void operational.push(`rejected ${pool}`),
        nodePools: (reports: readonly { pool: string }[]) =>
          void operational.push(...reports.map((r) => `nodes ${r.pool}`)),
        heldMemory: () => void operational.push('held'),
      },
      counters: new MemoryCounters(),
      clock: () => now,
      controlPlane: 'test',
    },
  };
}

const pool: PoolSnapshot = {
  name: 'gpu-a100',
  nodeGroup: 'ng',
  bytesPerNode: 80 * Gi,
  totalBytes: 80 * Gi,
  allocatedBytes: 16 * Gi,
  availableBytes: 64 * Gi,
  allocations: [{ holder: 'ml/a', bytes: 16 * Gi, since: now - 90_000, lastActivity: undefined }],
};
const deployment = {
  ...managedDeployment('a'),
};

const value = (samples: Sample[], metric: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.metric === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;

describe('publishPassMetrics', () => {
  it('sends the seed series, the control plane series and a cold start for a model that became ready', async () => {
    const { ports: p, written, operational } = ports();
    const model = { ...inferenceModel('a', { memory: '16Gi' }), status: { ready: false } };
    await publishPassMetrics(p, {
      models: [model],
      deployments: [deployment],
      pools: [pool],
      durationMs: 1500,
      errors: 0,
    });
    expect(operational).toEqual(['pass']);
    expect(value(written, 'inference_model_ready', { model: 'a', namespace: 'ml' })).toBe(1);
    expect(value(written, 'inference_model_memory_declared_bytes', { model: 'a' })).toBe(16 * Gi);
    expect(value(written, 'inference_model_memory_observed_peak_bytes')).toBeUndefined();
    expect(value(written, 'inference_budget_available_bytes', { node_pool: 'gpu-a100' })).toBe(64 * Gi);
    expect(value(written, 'inference_control_plane_reconcile_errors_total', { control_plane: 'test' })).toBe(
      0,
    );
    expect(value(written, 'inference_control_plane_last_successful_reconcile_timestamp_seconds')).toBe(
      now / 1000,
    );
    expect(value(written, 'inference_model_cold_start_seconds_sum', { node_pool: 'gpu-a100' })).toBe(90);
    expect(value(written, 'inference_model_cold_start_seconds_bucket', { le: '60' })).toBe(0);
    expect(value(written, 'inference_model_cold_start_seconds_bucket', { le: '120' })).toBe(1);
  });

  it('no cold start for a model that was already ready, and no success time for a pass with errors', async () => {
    const { ports: p, written } = ports();
    const model = { ...inferenceModel('a'), status: { ready: true } };
    await publishPassMetrics(p, {
      models: [model],
      deployments: [deployment],
      pools: [pool],
      durationMs: 10,
      errors: 2,
    });
    expect(value(written, 'inference_model_cold_start_seconds_count')).toBeUndefined();
    expect(
      value(written, 'inference_control_plane_last_successful_reconcile_timestamp_seconds'),
    ).toBeUndefined();
    expect(value(written, 'inference_control_plane_reconcile_errors_total')).toBe(2);
  });

  it('counts a pass that could not reconcile at all as one error, and no success', async () => {
    const { ports: p, written, operational } = ports();
    await publishPassMetrics(p, { models: [], deployments: [], pools: [pool], durationMs: 10, errors: 0 });
    await publishFailedPass(p, 1_200);
    await publishFailedPass(p, 900);
    expect(operational).toEqual(['pass', 'pass', 'pass']);
    const errors = written.filter((s) => s.metric === 'inference_control_plane_reconcile_errors_total');
    expect(errors.map((s) => s.value)).toEqual([0, 1, 2]);
    expect(
      written.filter(
        (s) => s.metric === 'inference_control_plane_last_successful_reconcile_timestamp_seconds',
      ),
    ).toHaveLength(1);
  });

  it('counts warm-up rejections per pool, monotonically', async () => {
    const { ports: p, written, operational } = ports();
    await publishWarmUpRejection(p, 'gpu-a100');
    await publishWarmUpRejection(p, 'gpu-a100');
    expect(operational).toEqual(['rejected gpu-a100', 'rejected gpu-a100']);
    expect(written.map((s) => s.value)).toEqual([1, 2]);
  });
});

describe('publishNodePoolMetrics', () => {
  const report = {
    pool: 'gpu-a100',
    nodeGroup: 'gpu-a100-ng',
    readyNodes: 1,
    desiredNodes: 2,
    neededNodes: 2,
    availableOnRunningNodes: 32 * Gi,
    waitingForNode: true,
    scaleOutSeconds: 150,
    scaledIn: 0,
  };

  it('sends node counts, what is free on running nodes, the scale-out latency and scale-ins per pool', async () => {
    const { ports: p, written, operational } = ports();
    await publishNodePoolMetrics(p, [report]);
    await publishNodePoolMetrics(p, [{ ...report, scaleOutSeconds: undefined, scaledIn: 1 }]);
    expect(operational).toEqual(['nodes gpu-a100', 'nodes gpu-a100']);
    const labels = { node_pool: 'gpu-a100' };
    expect(value(written, 'inference_node_pool_desired_nodes', labels)).toBe(2);
    expect(value(written, 'inference_node_pool_ready_nodes', labels)).toBe(1);
    expect(value(written, 'inference_node_pool_needed_nodes', labels)).toBe(2);
    expect(value(written, 'inference_budget_available_on_running_nodes_bytes', labels)).toBe(32 * Gi);
    expect(value(written, 'inference_node_scale_out_seconds_bucket', { le: '120' })).toBe(0);
    expect(value(written, 'inference_node_scale_out_seconds_bucket', { le: '180' })).toBe(1);
    expect(written.filter((s) => s.metric === 'inference_node_scale_in_total').map((s) => s.value)).toEqual([
      0, 1,
    ]);
  });
});
