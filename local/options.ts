import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Local mode's settings, all from the environment (docs/local-mode.md lists them). */
export interface LocalOptions {
  /** The warm-up API (plain HTTP on 127.0.0.1). */
  apiPort: number;
  /** `/metrics` and `/healthz`. */
  metricsPort: number;
  /** The admission webhook (HTTPS on 127.0.0.1, registered with the local API server). */
  webhookPort: number;
  /** The persisted ledger (`<dataDir>/ledger`) and the local cluster's files (`<dataDir>/cluster`). */
  dataDir: string;
  /** How often the scheduled reconcile runs (the Lambda runs every minute; local mode, more often). */
  reconcileEveryMs: number;
  /** An existing cluster to govern instead of starting one. */
  kubeconfig: string | undefined;
}

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

export function localOptions(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): LocalOptions {
  const dataDir = env.LOCAL_DATA_DIR;
  return {
    apiPort: port(env, 'LOCAL_API_PORT', 8000),
    metricsPort: port(env, 'LOCAL_METRICS_PORT', 8080),
    webhookPort: port(env, 'LOCAL_WEBHOOK_PORT', 8443),
    dataDir: dataDir ? (isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir)) : resolve(repoRoot, '.local'),
    reconcileEveryMs: seconds(env, 'LOCAL_RECONCILE_SECONDS', 10) * 1000,
    kubeconfig: env.KUBECONFIG || undefined,
  };
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name} must be a TCP port (1-65535), got "${env[name]}"`);
  }
  return value;
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a whole number of seconds (at least 1), got "${env[name]}"`);
  }
  return value;
}
