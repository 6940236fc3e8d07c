import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { publishNodePoolMetrics, publishPassMetrics } from '../core/metrics/publish.js';
import { definePools, scaleNodePools } from '../core/nodes/scaler.js';
import { observeModels } from '../core/recommendations/observe.js';
import { reconcileAll, type PassReport } from '../core/reconcile/reconciler.js';
import { reconcileWorkloads, type WorkloadPassReport } from '../core/moe/budget.js';
import type { PoolSnapshot } from '../core/ledger/model.js';
import { logger, Runtime, runtimeConfig } from './runtime.js';

let runtime: Runtime | undefined;

/**
 * The scheduled pass over every model (EventBridge, every minute; reserved concurrency 1 so passes never
 * overlap). A model that fails is logged and retried next pass; the pass itself does not fail for it.
 * With node pools configured, it first puts their budgets in the ledger, and after the models (and the
 * declared MoE workloads, docs/moe-workloads.md) it scales the pools' node groups to what the
 * allocations need (docs/node-pools.md).
 */
export const handler = middy(
  async (): Promise<Omit<PassReport, 'observed'> & { workloads: WorkloadPassReport | undefined }> => {
    runtime ??= new Runtime(runtimeConfig());
    const ports = await runtime.ports();
    await definePools(ports.ledger, runtime.config.nodePools, logger);
    const started = Date.now();
    const { observed, ...report } = await reconcileAll(ports, runtime.config.reconcile);
    // Declared MoE workloads hold one allocation per replica; their drift is repaired in the same pass.
    let pools: PoolSnapshot[] | undefined;
    let workloads: WorkloadPassReport | undefined;
    try {
      pools = await ports.ledger.listPools();
      workloads = await reconcileWorkloads(
        { cluster: await runtime.moeWorkloads(), ledger: ports.ledger, log: ports.log, clock: ports.clock },
        pools,
        { orphanGraceMs: runtime.config.reconcile.orphanGraceMs, namespaces: runtime.config.watchNamespaces },
      );
      if (workloads.allocated.length + workloads.resized.length + workloads.released.length > 0)
        pools = undefined;
    } catch (error) {
      logger.error('MoE workload budget repair failed', { error: String(error) });
    }
    const durationMs = Date.now() - started;
    logger.info('Reconcile pass finished', {
      models: report.models,
      errors: report.errors.length,
      orphansReleased: report.orphansReleased.length,
      moeWorkloads: workloads?.workloads,
      durationMs,
    });
    // Right-sizing from observed GPU memory; it logs its own failures and never fails the pass.
    const peaks = runtime.peakMemory();
    if (peaks) {
      await observeModels({ ...ports, peaks }, observed.models, runtime.config.recommendationWindowSeconds);
    }
    pools ??= await ports.ledger.listPools();
    // Each pool's failure is logged inside; the model pass above already did its work.
    const nodeScaling = await runtime.nodeScalingPorts();
    const nodeReports = nodeScaling ? await scaleNodePools(nodeScaling, pools) : [];
    // Metrics describe the pass; failing to send them must not fail it (the next pass sends fresh ones).
    try {
      const metrics = runtime.metricsPorts();
      await publishPassMetrics(metrics, { ...observed, pools, durationMs, errors: report.errors.length });
      if (nodeReports.length > 0) await publishNodePoolMetrics(metrics, nodeReports);
    } catch (error) {
      logger.warn('Could not publish reconcile metrics', { error: String(error) });
    }
    return { ...report, workloads };
  },
).use(injectLambdaContext(logger));
