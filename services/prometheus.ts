import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { httpOk, startProcess } from './processes.js';
import type { StartedService } from './service.js';

/**
 * Debian's Prometheus, accepting remote write: the stand-in for Amazon Managed Prometheus' data plane.
 * With `scrape`, it also scrapes those `host:port` targets every second (job `scrape.job`), as a user's
 * Prometheus scrapes local mode's `/metrics`.
 */
export async function startPrometheus(
  runDir: string,
  scrape?: { job: string; targets: string[] },
): Promise<StartedService> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const configFile = join(runDir, 'prometheus.yml');
  // Without `scrape`, every sample arrives by remote write, as it does in AMP.
  const scrapeConfig = scrape
    ? `scrape_configs:\n  - job_name: ${JSON.stringify(scrape.job)}\n    scrape_interval: 1s\n    static_configs:\n      - targets: ${JSON.stringify(scrape.targets)}\n`
    : '';
  await writeFile(configFile, `global:\n  evaluation_interval: 15s\n${scrapeConfig}`);
  const running = await startProcess({
    name: 'prometheus',
    command: process.env.IBCP_PROMETHEUS_BIN ?? 'prometheus',
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(runDir, 'prometheus-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      // Tests write samples stamped in the past to build known scenarios.
      '--storage.tsdb.retention.time=30d',
    ],
    logDir: runDir,
    isReady: () => httpOk(`${endpoint}/-/ready`),
  });
  return { name: 'prometheus', env: { IBCP_PROMETHEUS_URL: endpoint }, stop: running.stop };
}
