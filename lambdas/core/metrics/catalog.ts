import type { PoolSnapshot } from '../ledger/ledger.js';
import type { NodePoolReport } from '../nodes/scaler.js';
import { parseQuantity } from '../quantity.js';
import type { InferenceModel } from '../inference-model.js';
import type { ManagedDeployment } from '../reconcile/ports.js';
import { holderOf } from '../inference-model.js';
import type { Sample } from './series.js';

/**
 * Metric names and labels are the seed's (000_887327fde4744b83.txt) where it names them; the rest are
 * this control plane's own, in the same style.
 */
export const METRICS = {
  modelDeclared: 'inference_model_memory_declared_bytes',
  modelPeak: 'inference_model_memory_observed_peak_bytes',
  modelUtilization: 'inference_model_memory_utilization_ratio',
  modelReady: 'inference_model_ready',
  modelReplicas: 'inference_model_replicas',
  budgetTotal: 'inference_budget_total_bytes',
  budgetAllocated: 'inference_budget_allocated_bytes',
  budgetAvailable: 'inference_budget_available_bytes',
  coldStart: 'inference_model_cold_start_seconds',
  warmUpRejections: 'inference_warmup_rejections_total',
  reconcileDuration: 'inference_control_plane_reconcile_duration_seconds',
  reconcileErrors: 'inference_control_plane_reconcile_errors_total',
  lastSuccessfulReconcile: 'inference_control_plane_last_successful_reconcile_timestamp_seconds',
  budgetAvailableOnRunningNodes: 'inference_budget_available_on_running_nodes_bytes',
  nodesDesired: 'inference_node_pool_desired_nodes',
  nodesReady: 'inference_node_pool_ready_nodes',
  nodesNeeded: 'inference_node_pool_needed_nodes',
  nodeScaleOut: 'inference_node_scale_out_seconds',
  nodesScaledIn: 'inference_node_scale_in_total',
  heldByteSeconds: 'inference_budget_held_byte_seconds_total',
  nodeMemory: 'inference_node_pool_gpu_memory_per_node_bytes',
  nodeHourPrice: 'inference_node_pool_price_per_node_hour_dollars',
} as const;

/** Histogram buckets (seconds) for cold starts: a node boot plus weights loading can take many minutes. */
export const COLD_START_BUCKETS = [5, 10, 30, 60, 120, 300, 600, 1200, 1800];
/** Histogram buckets (seconds) from a scale-out request to its nodes being Ready: GPU instances boot slowly. */
export const NODE_SCALE_OUT_BUCKETS = [30, 60, 120, 180, 300, 600, 900, 1800];
export const RECONCILE_DURATION_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Per-model series {model, namespace}: high cardinality, so they go to Prometheus (AMP), not CloudWatch. */
export function modelSamples(
  models: readonly InferenceModel[],
  deployments: readonly ManagedDeployment[],
  timestampMs: number,
): Sample[] {
  const byHolder = new Map(deployments.map((d) => [holderOf(d), d]));
  return models.flatMap((model) => {
    const labels = { model: model.name, namespace: model.namespace };
    const at = (metric: string, value: number): Sample => ({ metric, labels, value, timestampMs });
    const declared = safeBytes(model.spec.memory);
    const deployment = byHolder.get(holderOf(model));
    const replicas = deployment?.replicas ?? 0;
    const ready = replicas > 0 && (deployment?.readyReplicas ?? 0) > 0 ? 1 : 0;
    const samples = [at(METRICS.modelReady, ready), at(METRICS.modelReplicas, replicas)];
    if (declared !== undefined) samples.push(at(METRICS.modelDeclared, declared));
    // Observed values only when there is data: an invented zero would read as "overprovisioned".
    const peak = model.status.observedPeakMemory ? safeBytes(model.status.observedPeakMemory) : undefined;
    if (peak !== undefined) {
      samples.push(at(METRICS.modelPeak, peak));
      if (declared) samples.push(at(METRICS.modelUtilization, peak / declared));
    }
    return samples;
  });
}

/** Per-pool budget series {node_pool}: few, so they go to both sinks. */
export function poolSamples(pools: readonly PoolSnapshot[], timestampMs: number): Sample[] {
  return pools.flatMap((pool) => {
    const labels = { node_pool: pool.name };
    return [
      { metric: METRICS.budgetTotal, labels, value: pool.totalBytes, timestampMs },
      { metric: METRICS.budgetAllocated, labels, value: pool.allocatedBytes, timestampMs },
      { metric: METRICS.budgetAvailable, labels, value: pool.availableBytes, timestampMs },
    ];
  });
}

/** Per-pool node series {node_pool}: what the node group has, what is ready, what the allocations need. */
export function nodePoolSamples(reports: readonly NodePoolReport[], timestampMs: number): Sample[] {
  return reports.flatMap((report) => {
    const labels = { node_pool: report.pool };
    return [
      { metric: METRICS.nodesDesired, labels, value: report.desiredNodes, timestampMs },
      { metric: METRICS.nodesReady, labels, value: report.readyNodes, timestampMs },
      { metric: METRICS.nodesNeeded, labels, value: report.neededNodes, timestampMs },
      {
        metric: METRICS.budgetAvailableOnRunningNodes,
        labels,
        value: report.availableOnRunningNodes,
        timestampMs,
      },
    ];
  });
}

/** Prometheus histogram series (cumulative `_bucket{le}`, `_sum`, `_count`) from bucket counts. */
export function histogramSamples(
  metric: string,
  labels: Record<string, string>,
  histogram: { buckets: readonly number[]; counts: readonly number[]; sum: number; count: number },
  timestampMs: number,
): Sample[] {
  let cumulative = 0;
  const buckets = histogram.buckets.map((le, i) => {
    cumulative += histogram.counts[i] ?? 0;
    return {
      metric: `${metric}_bucket`,
      labels: { ...labels, le: String(le) },
      value: cumulative,
      timestampMs,
    };
  });
  return [
    ...buckets,
    { metric: `${metric}_bucket`, labels: { ...labels, le: '+Inf' }, value: histogram.count, timestampMs },
    { metric: `${metric}_sum`, labels, value: histogram.sum, timestampMs },
    { metric: `${metric}_count`, labels, value: histogram.count, timestampMs },
  ];
}

/** Index of the bucket an observation falls in (the last one is +Inf). */
export function bucketIndex(buckets: readonly number[], value: number): number {
  const index = buckets.findIndex((le) => value <= le);
  return index === -1 ? buckets.length : index;
}

function safeBytes(quantity: string): number | undefined {
  try {
    return parseQuantity(quantity);
  } catch {
    return undefined;
  }
}
