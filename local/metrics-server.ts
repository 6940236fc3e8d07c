import { createServer } from 'node:http';
import type { KubernetesCluster } from '../lambdas/adapters/kubernetes-cluster.js';
import type { Ledger } from '../lambdas/core/ledger/ledger.js';
import { modelSamples, poolSamples } from '../lambdas/core/metrics/catalog.js';
import { prometheusText } from './prometheus-text.js';

/**
 * `/metrics` (Prometheus text format, built on each scrape from the cluster and the ledger, so it is
 * never stale) and `/healthz`. On AWS the same samples go to AMP by remote write; here Prometheus scrapes.
 */
export async function serveMetrics(
  port: number,
  sources: { cluster: KubernetesCluster; ledger: Ledger },
): Promise<void> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    if (path === '/healthz') return void response.writeHead(200).end('ok\n');
    if (path !== '/metrics') return void response.writeHead(404).end('not found: try /metrics or /healthz\n');
    const now = Date.now();
    Promise.all([
      sources.cluster.listModels(),
      sources.cluster.listManagedDeployments(),
      sources.ledger.listPools(),
    ])
      .then(([models, deployments, pools]) => {
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(prometheusText([...modelSamples(models, deployments, now), ...poolSamples(pools, now)]));
      })
      .catch((error: unknown) => response.writeHead(500).end(`${String(error)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
}
