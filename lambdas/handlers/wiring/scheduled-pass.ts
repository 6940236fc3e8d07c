import { DynamoDbUsageStore } from '../../adapters/dynamodb-usage.js';
import type { RuntimeConfig } from '../../config.js';
import type { MetricsPorts } from '../../core/metrics/publish.js';
import type { PeakMemorySource } from '../../core/recommendations/observe.js';
import type { ScheduledPassPorts, ScheduledPassSettings } from '../../core/reconcile/scheduled-pass.js';
import { ClusterAccess, moeWorkloads } from './cluster-access.js';
import { ledgerTable } from './ledger-table.js';
import { metricsPorts, peakMemory } from './metrics.js';
import { nodeScaling } from './node-scaling.js';

export interface ScheduledPassWiring {
  /** The pass's ports on the cluster's current credentials; clients are reused across passes. */
  ports(): Promise<ScheduledPassPorts>;
  settings: ScheduledPassSettings;
}

/** The scheduled reconcile Lambda's adapters, built once per execution environment. */
export function scheduledPassWiring(config: RuntimeConfig): ScheduledPassWiring {
  const table = ledgerTable(config);
  const access = new ClusterAccess(config);
  const scaling = nodeScaling(config, table, access);
  // Each built on first use and kept (null: no Prometheus), as a bad URL must fail only its own step.
  let peaks: PeakMemorySource | null | undefined;
  let metrics: MetricsPorts | undefined;
  let usage: DynamoDbUsageStore | undefined;
  return {
    ports: async () => ({
      ...(await access.reconcilePorts(table)),
      moeCluster: () => access.client(moeWorkloads),
      nodeScaling: scaling,
      peaks: () => (peaks === undefined ? (peaks = peakMemory(config) ?? null) : peaks) ?? undefined,
      metrics: () => (metrics ??= metricsPorts(config, table)),
      usage: () => (usage ??= new DynamoDbUsageStore(table.client, table.name, config.cluster)),
    }),
    settings: {
      reconcile: config.reconcile,
      nodePools: config.nodePools,
      namespaces: config.watchNamespaces,
      recommendationWindowSeconds: config.recommendationWindowSeconds,
    },
  };
}
