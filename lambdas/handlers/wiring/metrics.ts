import { CloudWatchEmf } from '../../adapters/cloudwatch-emf.js';
import { DynamoDbMetricCounters } from '../../adapters/dynamodb-metric-counters.js';
import { PrometheusPeakMemory } from '../../adapters/prometheus-peak-memory.js';
import { RemoteWriteSink } from '../../adapters/prometheus-remote-write.js';
import { clusterMetrics } from '../../core/metrics/cluster-label.js';
import type { MetricsPorts } from '../../core/metrics/publish.js';
import type { RuntimeConfig } from '../../config.js';
import type { LedgerTable } from './ledger-table.js';

/** CloudWatch EMF always; remote write to AMP (or a local Prometheus) when a URL is configured. */
export function metricsPorts(config: RuntimeConfig, table: LedgerTable): MetricsPorts {
  const url = config.remoteWriteUrl;
  const cluster = config.cluster?.cluster;
  const ports: MetricsPorts = {
    operational: new CloudWatchEmf(cluster === undefined ? {} : { cluster }),
    series: url ? new RemoteWriteSink(url, isAmp(url) ? { region: process.env.AWS_REGION } : {}) : undefined,
    counters: new DynamoDbMetricCounters(table.client, table.name),
    clock: Date.now,
    controlPlane: config.controlPlaneName,
  };
  // A Lambda that serves one cluster (`CLUSTER_NAME`) labels every series with it.
  return cluster === undefined ? ports : clusterMetrics(ports, cluster);
}

/** Where observed peak GPU memory comes from; undefined when no Prometheus is configured. */
export function peakMemory(config: RuntimeConfig): PrometheusPeakMemory | undefined {
  const url = config.prometheusQueryUrl;
  if (!url) return undefined;
  return new PrometheusPeakMemory({ url, ...(isAmp(url) ? { region: process.env.AWS_REGION } : {}) });
}

/** AMP endpoints are SigV4-signed in the Lambda's region; any other URL is a plain Prometheus. */
function isAmp(url: string): boolean {
  return new URL(url).hostname.startsWith('aps-workspaces.');
}
