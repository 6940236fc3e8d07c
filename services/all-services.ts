import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareAlertmanagerRenderer } from './alertmanager.js';
import { prepareCfnLint } from './cfn-lint.js';
import { startDynalite } from './dynalite.js';
import { startKubernetes } from './kubernetes.js';
import { prepareLambdaEmulator } from './lambda-emulator.js';
import { startMoto } from './moto.js';
import { progress } from './processes.js';
import { startPrometheus } from './prometheus.js';
import type { StartedService } from './service.js';

export interface Harness {
  readonly runDir: string;
  readonly services: StartedService[];
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

const starters: ReadonlyArray<(runDir: string) => Promise<StartedService>> = [
  startDynalite,
  startMoto,
  startPrometheus,
  () => prepareCfnLint(),
  () => prepareAlertmanagerRenderer(),
  () => prepareLambdaEmulator(),
  startKubernetes,
];

/** Starts every service the integration tests use, in parallel; all or none. */
export async function startHarness(): Promise<Harness> {
  const runDir = await mkdtemp(join(tmpdir(), 'ibcp-harness-'));
  const began = Date.now();
  progress(`starting services (logs in ${runDir})`);
  const results = await Promise.allSettled(starters.map((start) => start(runDir)));
  const services = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await stopAll(services);
    throw new Error(failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n'));
  }
  const env = Object.assign({}, ...services.map((s) => s.env)) as Record<string, string>;
  progress(`${services.map((s) => s.name).join(', ')} ready in ${((Date.now() - began) / 1000).toFixed(1)}s`);
  return {
    runDir,
    services,
    env,
    stop: async () => {
      await stopAll(services);
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

async function stopAll(services: StartedService[]): Promise<void> {
  await Promise.allSettled([...services].reverse().map((s) => s.stop()));
}
