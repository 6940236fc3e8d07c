import { createServer } from 'node:http';
import type { KubernetesCluster } from '../lambdas/adapters/kubernetes-cluster.js';
import type { Ledger } from '../lambdas/core/ledger/ledger.js';
import { modelSamples, poolSamples } from '../lambdas/core/metrics/catalog.js';
import { CLUSTER_LABEL } from '../lambdas/core/metrics/cluster-label.js';
import type { Sample } from '../lambdas/core/metrics/series.js';
import { prometheusText } from './prometheus-text.js';

/** One governed cluster's sources; `name` set, its samples carry the `cluster` label, as on AWS. */
export interface MetricsSource {
  name: string | undefined;
  cluster: KubernetesCluster;
  ledger: Ledger;
}

/**
 * `/metrics` (Prometheus text format, built on each scrape from the clusters and the ledger, so it is
 * never stale) and `/healthz`. On AWS the same samples go to AMP by remote write; here Prometheus scrapes.
 */
export async function serveMetrics(port: number, sources: readonly MetricsSource[]): Promise<void> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    if (path === '/healthz') return void response.writeHead(200).end('ok\n');
    if (path !== '/metrics') return void response.writeHead(404).end('not found: try /metrics or /healthz\n');
    const now = Date.now();
    Promise.all(sources.map((source) => samplesOf(source, now)))
      .then((samples) => {
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(prometheusText(samples.flat()));
      })
      .catch((error: unknown) => response.writeHead(500).end(`${String(error)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
}

async function samplesOf(source: MetricsSource, now: number): Promise<Sample[]> {
  const [models, deployments, pools] = await Promise.all([
    source.cluster.listModels(),
    source.cluster.listManagedDeployments(),
    source.ledger.listPools(),
  ]);
  const samples = [...modelSamples(models, deployments, now), ...poolSamples(pools, now)];
  const name = source.name;
  if (name === undefined) return samples;
  return samples.map((sample) => ({ ...sample, labels: { ...sample.labels, [CLUSTER_LABEL]: name } }));
}
