import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PoolSnapshot } from '../core/ledger/ledger.js';
import {
  CLOUDWATCH_METRICS as NAMES,
  CLOUDWATCH_NAMESPACE,
  CLOUDWATCH_SERVICE,
  CLUSTER_DIMENSION,
  POOL_DIMENSION,
} from '../core/metrics/cloudwatch-names.js';
import type { OperationalMetrics } from '../core/metrics/operational.js';
import type { NodePoolReport } from '../core/nodes/scaler.js';

/**
 * Operational metrics as CloudWatch Embedded Metric Format lines on stdout (Powertools Metrics): Lambda
 * ships them with the logs and CloudWatch extracts the metrics, with no API call on the hot path.
 */
export class CloudWatchEmf implements OperationalMetrics {
  private readonly metrics: Metrics;

  /** `cluster`: the governed cluster, a dimension of every metric (the stack's alarms name it). */
  constructor(options: { cluster?: string } = {}) {
    this.metrics = new Metrics({
      namespace: CLOUDWATCH_NAMESPACE,
      serviceName: CLOUDWATCH_SERVICE,
      ...(options.cluster !== undefined && { defaultDimensions: { [CLUSTER_DIMENSION]: options.cluster } }),
    });
  }

  reconcilePass(pass: { durationSeconds: number; errors: number; pools: readonly PoolSnapshot[] }): void {
    this.metrics.addMetric(NAMES.reconcileDuration, MetricUnit.Seconds, pass.durationSeconds);
    this.metrics.addMetric(NAMES.reconcileErrors, MetricUnit.Count, pass.errors);
    this.metrics.addMetric(NAMES.reconcileSucceeded, MetricUnit.Count, pass.errors === 0 ? 1 : 0);
    this.metrics.publishStoredMetrics();
    for (const pool of pass.pools) this.poolBudget(pool);
  }

  warmUpRejected(pool: string): void {
    this.metrics.addDimension(POOL_DIMENSION, pool);
    this.metrics.addMetric(NAMES.warmUpRejections, MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }

  /** One EMF document per pool: node counts for alarms on pools that cannot grow or never shrink. */
  nodePools(reports: readonly NodePoolReport[]): void {
    for (const report of reports) {
      this.metrics.addDimension(POOL_DIMENSION, report.pool);
      this.metrics.addMetric(NAMES.desiredNodes, MetricUnit.Count, report.desiredNodes);
      this.metrics.addMetric(NAMES.readyNodes, MetricUnit.Count, report.readyNodes);
      this.metrics.addMetric(NAMES.neededNodes, MetricUnit.Count, report.neededNodes);
      this.metrics.addMetric(
        NAMES.budgetAvailableOnRunningNodes,
        MetricUnit.Bytes,
        report.availableOnRunningNodes,
      );
      this.metrics.addMetric(NAMES.nodesScaledIn, MetricUnit.Count, report.scaledIn);
      if (report.scaleOutSeconds !== undefined) {
        this.metrics.addMetric(NAMES.nodeScaleOutSeconds, MetricUnit.Seconds, report.scaleOutSeconds);
      }
      this.metrics.publishStoredMetrics();
    }
  }

  /**
   * One EMF document per model held: the byte-seconds since the last pass, whose Sum over a period is
   * what the model held in it. Per model in CloudWatch too (each combination is a billed custom metric):
   * showback is per team and model, and the count is the number of models that ran, not of pods.
   */
  heldMemory(held: readonly { pool: string; namespace: string; model: string; byteSeconds: number }[]): void {
    for (const entry of held) {
      this.metrics.addDimensions({
        [POOL_DIMENSION]: entry.pool,
        namespace: entry.namespace,
        model: entry.model,
      });
      this.metrics.addMetric(NAMES.heldByteSeconds, MetricUnit.Count, entry.byteSeconds);
      this.metrics.publishStoredMetrics();
    }
  }

  /** One EMF document per pool; publishing clears the pool's dimension for the next one. */
  private poolBudget(pool: PoolSnapshot): void {
    this.metrics.addDimension(POOL_DIMENSION, pool.name);
    this.metrics.addMetric(NAMES.budgetTotal, MetricUnit.Bytes, pool.totalBytes);
    this.metrics.addMetric(NAMES.budgetAllocated, MetricUnit.Bytes, pool.allocatedBytes);
    this.metrics.addMetric(NAMES.budgetAvailable, MetricUnit.Bytes, pool.availableBytes);
    this.metrics.addMetric(
      NAMES.budgetUtilization,
      MetricUnit.Percent,
      pool.totalBytes > 0 ? (pool.allocatedBytes / pool.totalBytes) * 100 : 0,
    );
    this.metrics.publishStoredMetrics();
  }
}
