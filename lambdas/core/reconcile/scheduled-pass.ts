import type { UsageStore } from '../economics/metering.js';
import { meterHeldMemory } from '../economics/metering.js';
import { pricePerNodeHour } from '../economics/prices.js';
import type { PoolSnapshot } from '../ledger/ledger.js';
import {
  publishFailedPass,
  publishNodePoolMetrics,
  publishPassMetrics,
  publishQueueLengths,
  type MetricsPorts,
} from '../metrics/publish.js';
import { reconcileWorkloads, type WorkloadBudgetPorts, type WorkloadPassReport } from '../moe/budget.js';
import type { NodeScalingPorts } from '../nodes/ports.js';
import type { NodePoolConfig } from '../nodes/node-pools.js';
import { definePools, scaleNodePools } from '../nodes/scaler.js';
import { observeModels, type PeakMemorySource } from '../recommendations/observe.js';
import type { ReconcilePorts } from './ports.js';
import { reconcileAll, type PassReport, type ReconcileOptions } from './reconciler.js';

/**
 * What the scheduled pass reaches. The optional parts are built on first use by their step, so a bad
 * setting (a Prometheus URL, a node group) fails only the step that needs it.
 */
export interface ScheduledPassPorts extends ReconcilePorts {
  moeCluster(): Promise<WorkloadBudgetPorts['cluster']>;
  /** Undefined when no node pool is configured. */
  nodeScaling(): Promise<NodeScalingPorts | undefined>;
  /** Undefined when no Prometheus holds GPU memory metrics. */
  peaks(): PeakMemorySource | undefined;
  metrics(): MetricsPorts;
  usage(): UsageStore;
}

export interface ScheduledPassSettings {
  reconcile: ReconcileOptions;
  nodePools: readonly NodePoolConfig[];
  /** WATCH_NAMESPACE; undefined, the whole cluster. */
  namespaces: readonly string[] | undefined;
  recommendationWindowSeconds: number;
}

export type ScheduledPassReport = Omit<PassReport, 'observed'> & {
  workloads: WorkloadPassReport | undefined;
};

/**
 * The scheduled pass over every model. A model that fails is logged and retried next pass; the pass
 * itself does not fail for it. With node pools configured, it first puts their budgets in the ledger, and
 * after the models (and the declared MoE workloads, docs/moe-workloads.md) it scales the pools' node
 * groups to what the allocations need (docs/node-pools.md). Each later step (workloads, right-sizing,
 * node scaling, metrics, metering) is isolated: its failure is logged and the steps after it still run.
 */
export async function runScheduledPass(
  ports: ScheduledPassPorts,
  settings: ScheduledPassSettings,
): Promise<ScheduledPassReport> {
  const { log } = ports;
  await definePools(ports.ledger, settings.nodePools, log);
  const started = ports.clock();
  const { observed, ...report } = await reconcileAll(ports, settings.reconcile).catch(
    async (error: unknown) => {
      // The cluster could not be read: the pass fails (its Lambda's error), counted on the cluster's own
      // error metric; another cluster's pass runs in its own Lambda and is not touched.
      await publishFailedPass(ports.metrics(), ports.clock() - started).catch((failure: unknown) =>
        log.warn('Could not publish reconcile metrics', { error: String(failure) }),
      );
      throw error;
    },
  );
  // Declared MoE workloads hold one allocation per replica; their drift is repaired in the same pass.
  let pools: PoolSnapshot[] | undefined;
  let workloads: WorkloadPassReport | undefined;
  try {
    pools = await ports.ledger.listPools();
    workloads = await reconcileWorkloads(
      { cluster: await ports.moeCluster(), ledger: ports.ledger, log, clock: ports.clock },
      pools,
      { orphanGraceMs: settings.reconcile.orphanGraceMs, namespaces: settings.namespaces },
    );
    if (workloads.allocated.length + workloads.resized.length + workloads.released.length > 0)
      pools = undefined;
  } catch (error) {
    log.error('MoE workload budget repair failed', { error: String(error) });
  }
  const durationMs = ports.clock() - started;
  log.info('Reconcile pass finished', {
    models: report.models,
    errors: report.errors.length,
    orphansReleased: report.orphansReleased.length,
    queued: report.queued,
    moeWorkloads: workloads?.workloads,
    durationMs,
  });
  // Right-sizing from observed GPU memory; it logs its own failures and never fails the pass.
  const peaks = ports.peaks();
  if (peaks) {
    await observeModels({ ...ports, peaks }, observed.models, settings.recommendationWindowSeconds);
  }
  pools ??= await ports.ledger.listPools();
  // Each pool's failure is logged inside; the model pass above already did its work.
  const nodeScaling = await ports.nodeScaling();
  const nodeReports = nodeScaling ? await scaleNodePools(nodeScaling, pools) : [];
  // Metrics describe the pass; failing to send them must not fail it (the next pass sends fresh ones).
  try {
    const metrics = ports.metrics();
    await publishPassMetrics(metrics, { ...observed, pools, durationMs, errors: report.errors.length });
    if (nodeReports.length > 0) await publishNodePoolMetrics(metrics, nodeReports);
    await publishQueueLengths(metrics, report.queued);
  } catch (error) {
    log.warn('Could not publish reconcile metrics', { error: String(error) });
  }
  // Showback (docs/metrics.md): what each model held since the last pass. A failed meter counts that
  // interval in the next pass, which reads the meter again.
  try {
    const configured = new Map(settings.nodePools.map((p) => [p.name, p]));
    await meterHeldMemory({ usage: ports.usage(), metrics: ports.metrics() }, pools, (name) => {
      const pool = configured.get(name);
      return pool && pricePerNodeHour(pool);
    });
  } catch (error) {
    log.warn('Could not meter held GPU memory', { error: String(error) });
  }
  return { ...report, workloads };
}
