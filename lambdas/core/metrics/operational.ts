import type { PoolSnapshot } from '../ledger/ledger.js';
import type { NodePoolReport } from '../nodes/scaler.js';

/**
 * Low-cardinality metrics for alarms (CloudWatch in production): per pool and for the control plane
 * itself, never per model, because CloudWatch bills every dimension combination as a metric.
 */
export interface OperationalMetrics {
  reconcilePass(pass: { durationSeconds: number; errors: number; pools: readonly PoolSnapshot[] }): void;
  warmUpRejected(pool: string): void;
  nodePools(reports: readonly NodePoolReport[]): void;
  /** GPU memory held since the last pass, per model: showback (docs/metrics.md). */
  heldMemory(held: readonly { pool: string; namespace: string; model: string; byteSeconds: number }[]): void;
}
