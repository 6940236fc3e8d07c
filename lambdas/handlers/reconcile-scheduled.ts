import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDbUsageStore } from '../adapters/dynamodb-usage.js';
import { meterHeldMemory } from '../core/economics/metering.js';
import { pricePerNodeHour } from '../core/economics/prices.js';
import { publishNodePoolMetrics, publishPassMetrics } from '../core/metrics/publish.js';
import { definePools, scaleNodePools } from '../core/nodes/scaler.js';
import { observeModels } from '../core/recommendations/observe.js';
import { reconcileAll, type PassReport } from '../core/reconcile/reconciler.js';
import { reconcileWorkloads, type WorkloadPassReport } from '../core/moe/budget.js';
import type { PoolSnapshot } from '../core/ledger/model.js';
import type { MetricsPorts } from '../core/metrics/publish.js';
import type { NodeScalingPorts } from '../core/nodes/model.js';
import type { PeakMemorySource } from '../core/recommendations/observe.js';
import { runtimeConfig, type RuntimeConfig } from '../config.js';
import { logger } from './logger.js';
import { ClusterAccess, moeWorkloads } from './wiring/cluster-access.js';
import { ledgerTable, type LedgerTable } from './wiring/ledger-table.js';
import { metricsPorts, peakMemory } from './wiring/metrics.js';
import { nodeScaling } from './wiring/node-scaling.js';

interface Wiring {
  config: RuntimeConfig;
  table: LedgerTable;
  access: ClusterAccess;
  nodeScaling: () => Promise<NodeScalingPorts | undefined>;
  /** Built on first use, as a bad URL must fail only the step that needs it. */
  peaks?: PeakMemorySource | null;
  metrics?: MetricsPorts;
}

let wiring: Wiring | undefined;

function wire(): Wiring {
  const config = runtimeConfig();
  const table = ledgerTable(config);
  const access = new ClusterAccess(config);
  return { config, table, access, nodeScaling: nodeScaling(config, table, access) };
}

/**
 * The scheduled pass over every model (EventBridge, every minute; reserved concurrency 1 so passes never
 * overlap). A model that fails is logged and retried next pass; the pass itself does not fail for it.
 * With node pools configured, it first puts their budgets in the ledger, and after the models (and the
 * declared MoE workloads, docs/moe-workloads.md) it scales the pools' node groups to what the
 * allocations need (docs/node-pools.md).
 */
export const handler = middy(
  async (): Promise<Omit<PassReport, 'observed'> & { workloads: WorkloadPassReport | undefined }> => {
    wiring ??= wire();
    const { config, access } = wiring;
    const ports = await access.reconcilePorts(wiring.table);
    await definePools(ports.ledger, config.nodePools, logger);
    const started = Date.now();
    const { observed, ...report } = await reconcileAll(ports, config.reconcile);
    // Declared MoE workloads hold one allocation per replica; their drift is repaired in the same pass.
    let pools: PoolSnapshot[] | undefined;
    let workloads: WorkloadPassReport | undefined;
    try {
      pools = await ports.ledger.listPools();
      workloads = await reconcileWorkloads(
        {
          cluster: await access.client(moeWorkloads),
          ledger: ports.ledger,
          log: ports.log,
          clock: ports.clock,
        },
        pools,
        { orphanGraceMs: config.reconcile.orphanGraceMs, namespaces: config.watchNamespaces },
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
    if (wiring.peaks === undefined) wiring.peaks = peakMemory(config) ?? null;
    const { peaks } = wiring;
    if (peaks) {
      await observeModels({ ...ports, peaks }, observed.models, config.recommendationWindowSeconds);
    }
    pools ??= await ports.ledger.listPools();
    // Each pool's failure is logged inside; the model pass above already did its work.
    const nodeScaling = await wiring.nodeScaling();
    const nodeReports = nodeScaling ? await scaleNodePools(nodeScaling, pools) : [];
    // Metrics describe the pass; failing to send them must not fail it (the next pass sends fresh ones).
    try {
      const metrics = (wiring.metrics ??= metricsPorts(config, wiring.table));
      await publishPassMetrics(metrics, { ...observed, pools, durationMs, errors: report.errors.length });
      if (nodeReports.length > 0) await publishNodePoolMetrics(metrics, nodeReports);
    } catch (error) {
      logger.warn('Could not publish reconcile metrics', { error: String(error) });
    }
    // Showback (docs/metrics.md): what each model held since the last pass. A failed meter counts that
    // interval in the next pass, which reads the meter again.
    try {
      const configured = new Map(config.nodePools.map((p) => [p.name, p]));
      const usage = new DynamoDbUsageStore(wiring.table.client, wiring.table.name);
      const metrics = (wiring.metrics ??= metricsPorts(config, wiring.table));
      await meterHeldMemory({ usage, metrics }, pools, (name) => {
        const pool = configured.get(name);
        return pool && pricePerNodeHour(pool);
      });
    } catch (error) {
      logger.warn('Could not meter held GPU memory', { error: String(error) });
    }
    return { ...report, workloads };
  },
).use(injectLambdaContext(logger));
