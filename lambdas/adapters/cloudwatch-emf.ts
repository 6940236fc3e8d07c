import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { PoolSnapshot } from '../core/ledger/model.js';
import type { OperationalMetrics } from '../core/metrics/operational.js';
import type { NodePoolReport } from '../core/nodes/scaler.js';

export const CLOUDWATCH_NAMESPACE = 'InferenceBudgetControlPlane';

/**
 * Operational metrics as CloudWatch Embedded Metric Format lines on stdout (Powertools Metrics): Lambda
 * ships them with the logs and CloudWatch extracts the metrics, with no API call on the hot path.
 */
export class CloudWatchEmf implements OperationalMetrics {
  private readonly metrics: Metrics;

  constructor(serviceName = 'inference-budget-control-plane') {
    this.metrics = new Metrics({ namespace: CLOUDWATCH_NAMESPACE, serviceName });
  }

  reconcilePass(pass: { durationSeconds: number; errors: number; pools: readonly PoolSnapshot[] }): void {
    this.metrics.addMetric('ReconcileDuration', MetricUnit.Seconds, pass.durationSeconds);
    this.metrics.addMetric('ReconcileErrors', MetricUnit.Count, pass.errors);
    this.metrics.addMetric('ReconcileSucceeded', MetricUnit.Count, pass.errors === 0 ? 1 : 0);
    this.metrics.publishStoredMetrics();
    for (const pool of pass.pools) this.poolBudget(pool);
  }

  warmUpRejected(pool: string): void {
    this.metrics.addDimension('node_pool', pool);
    this.metrics.addMetric('WarmUpRejections', MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }

  /** One EMF document per pool: node counts for alarms on pools that cannot grow or never shrink. */
  nodePools(reports: readonly NodePoolReport[]): void {
    for (const report of reports) {
      this.metrics.addDimension('node_pool', report.pool);
      this.metrics.addMetric('DesiredNodes', MetricUnit.Count, report.desiredNodes);
      this.metrics.addMetric('ReadyNodes', MetricUnit.Count, report.readyNodes);
      this.metrics.addMetric('NeededNodes', MetricUnit.Count, report.neededNodes);
      this.metrics.addMetric(
        'BudgetAvailableOnRunningNodesBytes',
        MetricUnit.Bytes,
        report.availableOnRunningNodes,
      );
      this.metrics.addMetric('NodesScaledIn', MetricUnit.Count, report.scaledIn);
      if (report.scaleOutSeconds !== undefined) {
        this.metrics.addMetric('NodeScaleOutSeconds', MetricUnit.Seconds, report.scaleOutSeconds);
      }
      this.metrics.publishStoredMetrics();
    }
  }

  /** One EMF document per pool; publishing clears the pool's dimension for the next one. */
  private poolBudget(pool: PoolSnapshot): void {
    this.metrics.addDimension('node_pool', pool.name);
    this.metrics.addMetric('BudgetTotalBytes', MetricUnit.Bytes, pool.totalBytes);
    this.metrics.addMetric('BudgetAllocatedBytes', MetricUnit.Bytes, pool.allocatedBytes);
    this.metrics.addMetric('BudgetAvailableBytes', MetricUnit.Bytes, pool.availableBytes);
    this.metrics.addMetric(
      'BudgetUtilizationPercent',
      MetricUnit.Percent,
      pool.totalBytes > 0 ? (pool.allocatedBytes / pool.totalBytes) * 100 : 0,
    );
    this.metrics.publishStoredMetrics();
  }
}
