import { CloudWatchEmf } from '../../lambdas/adapters/cloudwatch-emf.js';
import { DynamoDbLedger } from '../../lambdas/adapters/dynamodb-ledger.js';
import { DynamoDbMetricCounters } from '../../lambdas/adapters/dynamodb-metric-counters.js';
import { kubeConfigFromFile } from '../../services/kube-config.js';
import { kubeConfigEndpoint } from '../../lambdas/adapters/kubeconfig-file.js';
import { KubernetesCluster } from '../../lambdas/adapters/kubernetes-cluster.js';
import type { ReconcileLog } from '../../lambdas/core/reconcile/ports.js';
import type { WarmUpPorts } from '../../lambdas/core/warmup/warm-up.js';
import { sleep } from '../../services/processes.js';
import { createGpuNode } from '../../services/gpu-nodes.js';
import { harnessEnv } from '../../services/service.js';
import { installDeploy, kubectl, kubectlOk, uniqueName } from '../../services/kubectl.js';
import { motoClients } from '../../services/node-groups.js';
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
  private readonly nodePools: string[] = [];
  private moto: ReturnType<typeof motoClients> | undefined;

  constructor(prefix: string) {
    this.namespace = uniqueName(prefix);
  }

  async setUp(): Promise<{ ledger: DynamoDbLedger; table: string }> {
    await installDeploy();
    await kubectlOk(['create', 'namespace', this.namespace]);
    await this.untilInferenceModelsServed();
    return freshLedger(this.client);
  }

  /** Right after the CRD is (re)applied the apiserver may answer 429 "storage is (re)initializing" for a moment. */
  private async untilInferenceModelsServed(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await kubectl(['get', 'inferencemodels', '-n', this.namespace]);
      if (result.code === 0) return;
      if (attempt === 60) throw new Error(`InferenceModels are not served: ${result.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** A KWOK GPU node (by default `<pool>-node`) labelled for the pool, deleted by `tearDown`. */
  async gpuNode(
    pool: string,
    size: { gpus: number; gpuMemoryGi?: number },
    name = `${pool}-node`,
  ): Promise<void> {
    await createGpuNode(harnessEnv('IBCP_KUBECONFIG'), { name, pool, ...size });
    this.nodes.push(name);
  }

  /**
   * A warm-up Lambda's ports on this file's namespace and `table`: adapters of its own, as another Lambda
   * has beside the scheduled pass; reconcile requests go nowhere (the test runs the pass when it means to).
   */
  warmUpPorts(
    table: string,
    { log, clock, controlPlane }: { log: ReconcileLog; clock: () => number; controlPlane: string },
  ): WarmUpPorts {
    const kubeconfig = kubeConfigFromFile(harnessEnv('IBCP_KUBECONFIG'));
    return {
      cluster: new KubernetesCluster(kubeConfigEndpoint(kubeconfig), { namespaces: [this.namespace] }),
      ledger: new DynamoDbLedger(this.client, table),
      log,
      clock,
      reconcileRequests: { request: async () => undefined },
      reconcileIntervalMs: 60_000,
      metrics: {
        operational: new CloudWatchEmf(),
        series: undefined,
        counters: new DynamoDbMetricCounters(this.client, table),
        clock,
        controlPlane,
      },
      sleep,
    };
  }

  /** moto's EKS and Auto Scaling clients, for node groups (services/node-groups.ts); destroyed by `tearDown`. */
  get nodeGroupClients(): ReturnType<typeof motoClients> {
    return (this.moto ??= motoClients());
  }

  /** `tearDown` deletes every node labelled for `pool`, as the node groups' joins create them. */
  deletesNodesOf(pool: string): void {
    this.nodePools.push(pool);
  }

  async tearDown(): Promise<void> {
    this.client.destroy();
    this.moto?.eks.destroy();
    this.moto?.autoScaling.destroy();
    await kubectl(['delete', 'namespace', this.namespace, '--wait=false']);
    if (this.nodes.length > 0) await kubectl(['delete', 'node', ...this.nodes, '--wait=false']);
    if (this.nodePools.length > 0) {
      const selector = `inference-pool in (${this.nodePools.join(',')})`;
      await kubectl(['delete', 'node', '-l', selector, '--wait=false']);
    }
  }
}

/** `kubectl` arguments for a JSON merge patch of an InferenceModel (for `kubectl` or `kubectlOk`). */
export function modelPatch(namespace: string, name: string, patch: object): string[] {
  return ['patch', 'inferencemodel', name, '-n', namespace, '--type=merge', '-p', JSON.stringify(patch)];
}
