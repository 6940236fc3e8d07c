import type { MetricsPorts } from './publish.js';
import type { MetricCounters, SeriesSink } from './series.js';

/** The label every series of a governed cluster carries (docs/metrics.md#clusters). */
export const CLUSTER_LABEL = 'cluster';

/**
 * The metrics ports of one governed cluster: every sample written and every counter kept gets its
 * `cluster` label, so clusters with the same pool or model names keep separate series and counters,
 * and the seed's queries (which never name `cluster`) read each cluster's series as before.
 */
export function clusterMetrics(ports: MetricsPorts, cluster: string): MetricsPorts {
  const labelled = <T extends Readonly<Record<string, string>>>(labels: T) => ({
    ...labels,
    [CLUSTER_LABEL]: cluster,
  });
  const series: SeriesSink | undefined = ports.series && {
    write: (samples) =>
      ports.series!.write(samples.map((sample) => ({ ...sample, labels: labelled(sample.labels) }))),
  };
  const counters: MetricCounters = {
    increment: (metric, labels, by) => ports.counters.increment(metric, labelled(labels), by),
    observe: (metric, labels, buckets, value) =>
      ports.counters.observe(metric, labelled(labels), buckets, value),
  };
  return { ...ports, series, counters };
}
