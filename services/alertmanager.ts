import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goBuildLocal } from './go-build.js';
import { HarnessError } from './processes.js';
import type { StartedService } from './service.js';

const RENDERER_DIR = fileURLToPath(new URL('./alertmanager-render/', import.meta.url));
const SOURCES = ['go.mod', 'go.sum', 'main.go'];

/**
 * A command, not a server: the real Alertmanager config loader, router and template engine, which renders
 * what an SNS receiver would publish (services/alertmanager-render/main.go). Built once, cached by the
 * Alertmanager version its go.mod pins and a hash of its sources.
 */
export async function prepareAlertmanagerRenderer(): Promise<StartedService> {
  const sources = await Promise.all(SOURCES.map((name) => readFile(join(RENDERER_DIR, name), 'utf8')));
  const version = alertmanagerVersion(sources[0] ?? '');
  const hash = createHash('sha256').update(sources.join('\0')).digest('hex').slice(0, 12);
  const binary = await goBuildLocal({
    component: 'alertmanager-render',
    cacheKey: `go/alertmanager-render-${version}-${hash}`,
    sourceDir: RENDERER_DIR,
    binary: 'alertmanager-render',
  });
  return {
    name: `alertmanager-render ${version}`,
    env: { IBCP_ALERTMANAGER_RENDER: binary },
    stop: async () => undefined,
  };
}

function alertmanagerVersion(goMod: string): string {
  const version = /github\.com\/prometheus\/alertmanager (v\S+)/.exec(goMod)?.[1];
  if (!version) {
    throw new HarnessError(
      'alertmanager-render',
      `${RENDERER_DIR}go.mod does not require github.com/prometheus/alertmanager`,
    );
  }
  return version;
}
