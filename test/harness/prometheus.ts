import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { httpOk, startProcess } from './processes.js';
import type { StartedService } from './service.js';

/** Debian's Prometheus, accepting remote write: the stand-in for Amazon Managed Prometheus' data plane. */
export async function startPrometheus(runDir: string): Promise<StartedService> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const configFile = join(runDir, 'prometheus.yml');
  // No scrape jobs: every sample arrives by remote write, as it does in AMP.
  await writeFile(configFile, 'global:\n  evaluation_interval: 15s\n');
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
