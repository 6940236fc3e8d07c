import type { Sample } from '../lambdas/core/metrics/series.js';

/** The seed's descriptions of its metrics (000_887327fde4744b83.txt). */
const HELP: Record<string, string> = {
  inference_model_memory_declared_bytes: 'Memory declared in the InferenceModel CRD.',
  inference_model_memory_observed_peak_bytes: 'Peak memory observed at runtime for each model.',
  inference_model_memory_utilization_ratio: 'Ratio of observed peak memory to declared memory (0-1).',
  inference_model_ready: 'Whether the model is ready to serve requests (1=ready, 0=not ready).',
  inference_model_replicas: 'Current number of replicas for each model.',
  inference_budget_total_bytes: 'Total memory budget for each node pool.',
  inference_budget_allocated_bytes: 'Currently allocated memory in each node pool.',
  inference_budget_available_bytes: 'Available (unallocated) memory in each node pool.',
};

/**
 * Samples in the Prometheus text exposition format (what a scrape of `/metrics` reads). The format wants
 * each metric family in one block, so samples are grouped by metric first.
 */
export function prometheusText(samples: readonly Sample[]): string {
  const lines: string[] = [];
  const typed = new Set<string>();
  const grouped = [...samples].sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
  for (const sample of grouped) {
    if (!typed.has(sample.metric)) {
      typed.add(sample.metric);
      lines.push(
        `# HELP ${sample.metric} ${HELP[sample.metric] ?? sample.metric}`,
        `# TYPE ${sample.metric} gauge`,
      );
    }
    const labels = Object.entries(sample.labels)
      .map(
        ([key, value]) =>
          `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
      )
      .join(',');
    lines.push(`${sample.metric}${labels ? `{${labels}}` : ''} ${sample.value}`);
  }
  return `${lines.join('\n')}\n`;
}
