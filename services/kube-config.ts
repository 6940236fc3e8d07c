import { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesEndpoint } from '../lambdas/adapters/kubernetes-api.js';
import { kubeConfigEndpoint, loadKubeConfig } from '../lambdas/adapters/kubeconfig-file.js';

/**
 * Local mode, the benches and tests: a kubeconfig file as client-node's KubeConfig, for its API clients
 * (kubeConfigEndpoint turns it into the adapters' endpoint).
 */
export function kubeConfigFromFile(path: string, context?: string): KubeConfig {
  return loadKubeConfig(new KubeConfig(), path, context);
}

/** The adapters' endpoint for a kubeconfig file's current context. */
export function endpointFromFile(path: string): KubernetesEndpoint {
  return kubeConfigEndpoint(kubeConfigFromFile(path));
}
