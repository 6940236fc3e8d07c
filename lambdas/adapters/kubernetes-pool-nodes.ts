import type { V1Node, V1NodeList, V1Pod, V1PodList } from '@kubernetes/client-node';
import { KubernetesApi, NODES, PODS, resourcePath, type KubernetesEndpoint } from './kubernetes-api.js';
import type { PoolNode, PoolNodes } from '../core/nodes/ports.js';
import { API_GROUP, MANAGED_LABEL, POOL_LABEL } from '../core/inference-model.js';
import { inNamespaces } from './kubernetes-cluster.js';

/** When the node scaler first saw the node run no budgeted workload; removed when one lands on it. */
export const EMPTY_SINCE_ANNOTATION = `${API_GROUP}/empty-since`;
/** When the node scaler cordoned the node to take it out. */
export const SCALE_IN_ANNOTATION = `${API_GROUP}/scale-in-at`;

/** The providerID the AWS cloud provider sets on an EC2-backed node: `aws:///<az>/<instance-id>`. */
const AWS_PROVIDER_ID = /^aws:\/\/\/[^/]*\/(i-[0-9a-f]+)$/;
/** Pods of InferenceModel Deployments carry the managed label on their template. */
const BUDGETED_PODS = `${MANAGED_LABEL}=true`;

/**
 * A pool's nodes on a real kube-apiserver: nodes labelled `inference-pool=<pool>`, the budgeted pods
 * bound to them (all namespaces, or the governed ones in namespaced mode: budgeted pods run nowhere
 * else), and the scaler's marks as node annotations, so they live and die with the node.
 */
export class KubernetesPoolNodes implements PoolNodes {
  private readonly api: KubernetesApi;

  constructor(
    endpoint: KubernetesEndpoint,
    /** These namespaces' pods only (namespaced mode); default: the whole cluster's. */
    private readonly options: { namespaces?: readonly string[] } = {},
  ) {
    this.api = new KubernetesApi(endpoint);
  }

  async list(pool: string): Promise<PoolNode[]> {
    const [nodes, pods] = await Promise.all([
      this.api.get<V1NodeList>(resourcePath(NODES), { labelSelector: `${POOL_LABEL}=${pool}` }),
      this.budgetedPods(),
    ]);
    const podsByNode = new Map<string, number>();
    for (const pod of pods.filter(isRunningOrStarting)) {
      const node = pod.spec?.nodeName;
      if (node) podsByNode.set(node, (podsByNode.get(node) ?? 0) + 1);
    }
    return nodes.items.map((node) => toPoolNode(node, podsByNode.get(node.metadata?.name ?? '') ?? 0));
  }

  async markEmptySince(node: string, since: number | undefined): Promise<void> {
    await this.patch(node, {
      metadata: { annotations: { [EMPTY_SINCE_ANNOTATION]: since === undefined ? null : iso(since) } },
    });
  }

  async cordon(node: string, at: number): Promise<void> {
    await this.patch(node, {
      metadata: { annotations: { [SCALE_IN_ANNOTATION]: iso(at) } },
      spec: { unschedulable: true },
    });
  }

  async uncordon(node: string): Promise<void> {
    await this.patch(node, {
      metadata: { annotations: { [SCALE_IN_ANNOTATION]: null } },
      spec: { unschedulable: null },
    });
  }

  async budgetedPodsOn(node: string): Promise<number> {
    return (await this.budgetedPods(`spec.nodeName=${node}`)).filter(isRunningOrStarting).length;
  }

  private async budgetedPods(fieldSelector?: string): Promise<V1Pod[]> {
    const query = { labelSelector: BUDGETED_PODS, ...(fieldSelector && { fieldSelector }) };
    const lists = await inNamespaces(this.options.namespaces, (namespace) =>
      this.api.get<V1PodList>(resourcePath(PODS, { namespace }), query),
    );
    return lists.flatMap((list) => list.items);
  }

  private async patch(name: string, body: object): Promise<void> {
    await this.api.patch(resourcePath(NODES, { name }), body, 'merge');
  }
}

export function instanceIdOf(providerId: string | undefined): string | undefined {
  return providerId ? AWS_PROVIDER_ID.exec(providerId)?.[1] : undefined;
}

function toPoolNode(node: V1Node, budgetedPods: number): PoolNode {
  const annotations = node.metadata?.annotations ?? {};
  return {
    name: node.metadata?.name ?? '',
    instanceId: instanceIdOf(node.spec?.providerID),
    ready: (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    budgetedPods,
    emptySince: time(annotations[EMPTY_SINCE_ANNOTATION]),
    scaleInStartedAt: time(annotations[SCALE_IN_ANNOTATION]),
  };
}

/** A finished pod holds no GPU memory; a terminating one still does until it is gone. */
function isRunningOrStarting(pod: V1Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

function time(text: string | undefined): number | undefined {
  const ms = text === undefined ? NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
