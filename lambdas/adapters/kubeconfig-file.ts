// The kubeconfig-file target (local mode, tests): @kubernetes/client-node's KubeConfig reads the file and
// runs its auth plugins (exec, OIDC...). A deployed Lambda always has the EKS target (eks-endpoint.ts), so
// the bundles leave client-node out (`externalModules` in lib/control-plane-functions.ts) and this module
// loads it with a dynamic import only when a kubeconfig is used: a static import of an external module is
// hoisted to the top of an ES module bundle and would load at every cold start.
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesEndpoint } from './kubernetes-api.js';

/** A kubeconfig file at its current context, or at `context` (one of several clusters it holds). */
export async function kubeconfigFileEndpoint(path: string, context?: string): Promise<KubernetesEndpoint> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  return kubeConfigEndpoint(loadKubeConfig(new KubeConfig(), path, context));
}

/** Loads `path` into an empty KubeConfig and selects `context`, if given. */
export function loadKubeConfig(config: KubeConfig, path: string, context?: string): KubeConfig {
  config.loadFromFile(path);
  if (context !== undefined) {
    if (!config.getContextObject(context)) {
      const known = config.getContexts().map((c) => c.name);
      throw new Error(
        `kubeconfig ${path} has no context "${context}" (it has: ${known.join(', ') || 'none'})`,
      );
    }
    config.setCurrentContext(context);
  }
  return config;
}

/** The current context's API server, with what KubeConfig puts on a request to it. */
export function kubeConfigEndpoint(config: KubeConfig): KubernetesEndpoint {
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error(`kubeconfig context "${config.getCurrentContext()}" names no cluster server`);
  return {
    server,
    credentials: async () => {
      // Per request: an exec plugin's token expires, and KubeConfig caches it until then.
      const options: RequestOptions = {};
      await config.applyToHTTPSOptions(options);
      const { ca, cert, key, rejectUnauthorized, servername } = options;
      const headers = Object.fromEntries(
        Object.entries(options.headers ?? {}).map(([name, value]) => [name, String(value)]),
      );
      return { tls: { ca, cert, key, rejectUnauthorized, servername }, headers };
    },
  };
}
