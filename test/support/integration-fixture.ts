import type { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger.js';
import { createGpuNode } from '../../services/gpu-nodes.js';
import { harnessEnv } from '../../services/service.js';
import { installDeploy, kubectl, kubectlOk, uniqueName } from '../../services/kubectl.js';
import { dynamoClient, freshLedger } from './ledger-backends.js';

/**
 * What an integration file on the harness sets up the same way every time: deploy/ installed, a namespace
 * of its own in kube-apiserver, a ledger on a dynalite table of its own, and KWOK GPU nodes for its pools.
 * The file calls `setUp` first in its beforeAll and `tearDown` last in its afterAll, so its own steps run
 * in between with everything in place.
 */
export class IntegrationFixture {
  readonly namespace: string;
  readonly client = dynamoClient('IBCP_DYNALITE_ENDPOINT');
  private readonly nodes: string[] = [];

  constructor(prefix: string) {
    this.namespace = uniqueName(prefix);
  }

  async setUp(): Promise<{ ledger: DynamoDbLedger; table: string }> {
    await installDeploy();
    await kubectlOk(['create', 'namespace', this.namespace]);
    return freshLedger(this.client);
  }

  /** A KWOK GPU node `<pool>-node` labelled for the pool, deleted by `tearDown`. */
  async gpuNode(pool: string, size: { gpus: number; gpuMemoryGi?: number }): Promise<void> {
    const name = `${pool}-node`;
    await createGpuNode(harnessEnv('IBCP_KUBECONFIG'), { name, pool, ...size });
    this.nodes.push(name);
  }

  async tearDown(): Promise<void> {
    this.client.destroy();
    await kubectl(['delete', 'namespace', this.namespace, '--wait=false']);
    if (this.nodes.length > 0) await kubectl(['delete', 'node', ...this.nodes, '--wait=false']);
  }
}

/** `kubectl` arguments for a JSON merge patch of an InferenceModel (for `kubectl` or `kubectlOk`). */
export function modelPatch(namespace: string, name: string, patch: object): string[] {
  return ['patch', 'inferencemodel', name, '-n', namespace, '--type=merge', '-p', JSON.stringify(patch)];
}
