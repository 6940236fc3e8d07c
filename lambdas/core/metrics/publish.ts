import type { PoolSnapshot } from '../ledger/ledger.js';
import type { NodePoolReport } from '../nodes/scaler.js';
import { holderOf, type InferenceModel } from '../inference-model.js';
import { type ManagedDeployment } from '../reconcile/ports.js';
import {
  COLD_START_BUCKETS,
  histogramSamples,
  METRICS,
  modelSamples,
  NODE_SCALE_OUT_BUCKETS,
  nodePoolSamples,
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
  for (const { pool, seconds } of coldStarts(pass, now)) {
    const state = await ports.counters.observe(
      METRICS.coldStart,
      { node_pool: pool },
      COLD_START_BUCKETS,
      seconds,
    );
    samples.push(...histogramSamples(METRICS.coldStart, { node_pool: pool }, state, now));
  }
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

/**
 * A pass that could not reconcile at all (its cluster's API server unreachable): one error on the
 * cluster's own error metric, and no successful pass, so that cluster's alarms fire and no other's.
 */
export async function publishFailedPass(ports: MetricsPorts, durationMs: number): Promise<void> {
  const now = ports.clock();
  ports.operational.reconcilePass({ durationSeconds: durationMs / 1000, errors: 1, pools: [] });
  if (!ports.series) return;
  const labels = { control_plane: ports.controlPlane };
  const errorsTotal = await ports.counters.increment(METRICS.reconcileErrors, labels, 1);
  await ports.series.write([
    { metric: METRICS.reconcileErrors, labels, value: errorsTotal, timestampMs: now },
  ]);
}

/**
 * Models that became ready during the pass (not ready in the status it started from, a ready replica in
 * the Deployments it listed): warm-up to Ready is the time since their allocation, which the warm-up or
 * the first deployment made. Measured at pass granularity, so up to one schedule interval long.
 */
export function coldStarts(pass: ObservedPass, now: number): { pool: string; seconds: number }[] {
  const deployments = new Map(pass.deployments.map((d) => [holderOf(d), d]));
  const allocations = new Map(
    pass.pools.flatMap((p) =>
      p.allocations.map((a) => [a.holder, { pool: p.name, since: a.since }] as const),
    ),
  );
  return pass.models.flatMap((model) => {
    const deployment = deployments.get(holderOf(model));
    const allocation = allocations.get(holderOf(model));
    const readyNow = (deployment?.replicas ?? 0) > 0 && (deployment?.readyReplicas ?? 0) > 0;
    if (model.status.ready || !readyNow || !allocation) return [];
    return [{ pool: allocation.pool, seconds: Math.max(0, (now - allocation.since) / 1000) }];
  });
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

/** Models a warm-up evicted from a pool: a Prometheus counter per pool. */
export async function publishEvictions(ports: MetricsPorts, pool: string, count: number): Promise<void> {
  if (!ports.series || count === 0) return;
  const labels = { node_pool: pool };
  const total = await ports.counters.increment(METRICS.evictions, labels, count);
  await ports.series.write([{ metric: METRICS.evictions, labels, value: total, timestampMs: ports.clock() }]);
}

/** Each pool's admission queue length, after a pass admitted what it could. */
export async function publishQueueLengths(
  ports: MetricsPorts,
  lengths: Readonly<Record<string, number>>,
): Promise<void> {
  const entries = Object.entries(lengths);
  if (!ports.series || entries.length === 0) return;
  const timestampMs = ports.clock();
  await ports.series.write(
    entries.map(([pool, value]) => ({
      metric: METRICS.queueLength,
      labels: { node_pool: pool },
      value,
      timestampMs,
    })),
  );
}

/** After the node pass: node counts, scale-out latency and scale-ins per pool, in both sinks. */
export async function publishNodePoolMetrics(
  ports: MetricsPorts,
  reports: readonly NodePoolReport[],
): Promise<void> {
  ports.operational.nodePools(reports);
  if (!ports.series) return;
  const now = ports.clock();
  const samples = nodePoolSamples(reports, now);
  for (const report of reports) {
    const labels = { node_pool: report.pool };
    const scaledIn = await ports.counters.increment(METRICS.nodesScaledIn, labels, report.scaledIn);
    samples.push({ metric: METRICS.nodesScaledIn, labels, value: scaledIn, timestampMs: now });
    if (report.scaleOutSeconds !== undefined) {
      const state = await ports.counters.observe(
        METRICS.nodeScaleOut,
        labels,
        NODE_SCALE_OUT_BUCKETS,
        report.scaleOutSeconds,
      );
      samples.push(...histogramSamples(METRICS.nodeScaleOut, labels, state, now));
    }
  }
  await ports.series.write(samples);
}
