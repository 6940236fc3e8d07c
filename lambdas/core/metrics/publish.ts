import type { PoolSnapshot } from '../ledger/model.js';
import type { InferenceModel, ManagedDeployment } from '../reconcile/model.js';
import {
  histogramSamples,
  METRICS,
  modelSamples,
  poolSamples,
  RECONCILE_DURATION_BUCKETS,
} from './catalog.js';
import type { OperationalMetrics } from './operational.js';
import type { MetricCounters, Sample, SeriesSink } from './series.js';

export interface MetricsPorts {
  operational: OperationalMetrics;
  /** Prometheus (AMP) remote write; absent when the deployment has no workspace. */
  series: SeriesSink | undefined;
  counters: MetricCounters;
  clock: () => number;
  /** Labels the control plane's own series, so several installs can share one workspace. */
  controlPlane: string;
}

export interface ObservedPass {
  models: readonly InferenceModel[];
  deployments: readonly ManagedDeployment[];
  pools: readonly PoolSnapshot[];
  durationMs: number;
  errors: number;
}

/** After a scheduled pass: pool and control-plane figures to CloudWatch, everything to Prometheus. */
export async function publishPassMetrics(ports: MetricsPorts, pass: ObservedPass): Promise<void> {
  const now = ports.clock();
  const durationSeconds = pass.durationMs / 1000;
  ports.operational.reconcilePass({ durationSeconds, errors: pass.errors, pools: pass.pools });
  if (!ports.series) return;
  const labels = { control_plane: ports.controlPlane };
  const [errorsTotal, duration] = await Promise.all([
    ports.counters.increment(METRICS.reconcileErrors, labels, pass.errors),
    ports.counters.observe(METRICS.reconcileDuration, labels, RECONCILE_DURATION_BUCKETS, durationSeconds),
  ]);
  const samples: Sample[] = [
    ...modelSamples(pass.models, pass.deployments, now),
    ...poolSamples(pass.pools, now),
    { metric: METRICS.reconcileErrors, labels, value: errorsTotal, timestampMs: now },
    ...histogramSamples(METRICS.reconcileDuration, labels, duration, now),
  ];
  if (pass.errors === 0) {
    samples.push({
      metric: METRICS.lastSuccessfulReconcile,
      labels,
      value: now / 1000,
      timestampMs: now,
    });
  }
  await ports.series.write(samples);
}

/** A refused warm-up, counted per pool in both sinks. */
export async function publishWarmUpRejection(ports: MetricsPorts, pool: string): Promise<void> {
  ports.operational.warmUpRejected(pool);
  if (!ports.series) return;
  const labels = { node_pool: pool };
  const total = await ports.counters.increment(METRICS.warmUpRejections, labels, 1);
  await ports.series.write([
    { metric: METRICS.warmUpRejections, labels, value: total, timestampMs: ports.clock() },
  ]);
}
