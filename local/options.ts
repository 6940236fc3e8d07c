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
  /**
   * Several clusters governed at once (docs/local-mode.md#several-clusters): `LOCAL_CLUSTERS=N` starts N
   * local clusters, `LOCAL_KUBECONFIG_CONTEXTS=a,b` governs those contexts of KUBECONFIG. Unset, one
   * cluster and the single-cluster ledger, as before.
   */
  clusters: LocalClusters | undefined;
}

export type LocalClusters = { started: string[] } | { contexts: string[] };

export class LocalOptionsError extends Error {
  override readonly name = 'LocalOptionsError';
}

/** More would not fit the machine: each started cluster is an etcd, an API server and three more processes. */
export const MAX_LOCAL_CLUSTERS = 4;
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

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
    clusters: localClusters(env),
  };
}

function localClusters(env: NodeJS.ProcessEnv): LocalClusters | undefined {
  const count = env.LOCAL_CLUSTERS?.trim();
  const contexts = env.LOCAL_KUBECONFIG_CONTEXTS?.trim();
  if (count && contexts) {
    throw new LocalOptionsError(
      'LOCAL_CLUSTERS starts clusters and LOCAL_KUBECONFIG_CONTEXTS governs existing ones: set one of them',
    );
  }
  if (count) {
    const n = Number(count);
    if (!/^\d+$/.test(count) || n < 1 || n > MAX_LOCAL_CLUSTERS) {
      throw new LocalOptionsError(
        `LOCAL_CLUSTERS must be a whole number of clusters from 1 to ${MAX_LOCAL_CLUSTERS}, got "${env.LOCAL_CLUSTERS}"`,
      );
    }
    if (env.KUBECONFIG) {
      throw new LocalOptionsError(
        'LOCAL_CLUSTERS starts local clusters; with KUBECONFIG set, use LOCAL_KUBECONFIG_CONTEXTS to govern its contexts instead',
      );
    }
    return { started: Array.from({ length: n }, (_, i) => `local-${i + 1}`) };
  }
  if (contexts) {
    if (!env.KUBECONFIG) {
      throw new LocalOptionsError(
        'LOCAL_KUBECONFIG_CONTEXTS needs KUBECONFIG, the file that holds the contexts',
      );
    }
    const names = contexts.split(',').map((name) => name.trim());
    const bad = names.filter((name) => !CLUSTER_NAME.test(name));
    if (bad.length > 0) {
      throw new LocalOptionsError(
        `LOCAL_KUBECONFIG_CONTEXTS must be context names separated by commas, each usable as a cluster name (letters, digits, - and _); not valid: ${JSON.stringify(bad)}`,
      );
    }
    if (new Set(names).size !== names.length) {
      throw new LocalOptionsError(`LOCAL_KUBECONFIG_CONTEXTS names a context twice: "${contexts}"`);
    }
    return { contexts: names };
  }
  return undefined;
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
