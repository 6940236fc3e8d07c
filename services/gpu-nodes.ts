import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { sleep } from './processes.js';

/** KWOK plays the kubelet for nodes carrying this label, and only for them. */
export const KWOK_NODE_LABEL = { key: 'type', value: 'kwok' } as const;

export interface GpuNodeSpec {
  name: string;
  /** Value of the `inference-pool` label that workloads select with their nodeSelector. */
  pool: string;
  gpus: number;
  /** Memory of one GPU; published as the `nvidia.com/gpu.memory` label in MiB, as GPU feature discovery does. */
  gpuMemoryGi?: number;
  /** The `nvidia.com/gpu.product` label GPU feature discovery sets, e.g. `NVIDIA-A100-SXM4-80GB`. */
  product?: string;
  cpu?: string;
  memory?: string;
  pods?: number;
}

/**
 * Registers a fake GPU node and waits until it is Ready and schedulable: KWOK marks it Ready and the
 * node lifecycle controller then lifts the `not-ready` taint the apiserver put on it at creation.
 */
export async function createGpuNode(
  kubeconfigPath: string,
  spec: GpuNodeSpec,
  timeoutMs = 60_000,
): Promise<V1Node> {
  const core = coreApi(kubeconfigPath);
  await core.createNode({ body: gpuNode(spec) });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const node = await core.readNode({ name: spec.name });
    const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const tainted = node.spec?.taints?.some((t) => t.key.startsWith('node.kubernetes.io/'));
    if (ready && !tainted) return node;
    if (Date.now() > deadline) {
      throw new Error(
        `node ${spec.name} not Ready and schedulable after ${timeoutMs / 1000}s: ${JSON.stringify(node.status?.conditions)} taints ${JSON.stringify(node.spec?.taints)}`,
      );
    }
    await sleep(250);
  }
}

export async function deleteGpuNode(kubeconfigPath: string, name: string): Promise<void> {
  await coreApi(kubeconfigPath).deleteNode({ name });
}

/** The Node object: capacity is set at creation, and KWOK's stages below keep it while they add conditions. */
export function gpuNode(spec: GpuNodeSpec): V1Node {
  const resources = {
    cpu: spec.cpu ?? '32',
    memory: spec.memory ?? '256Gi',
    pods: String(spec.pods ?? 110),
    'nvidia.com/gpu': String(spec.gpus),
  };
  const labels: Record<string, string> = {
    [KWOK_NODE_LABEL.key]: KWOK_NODE_LABEL.value,
    'inference-pool': spec.pool,
    'kubernetes.io/hostname': spec.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'nvidia.com/gpu.count': String(spec.gpus),
  };
  if (spec.gpuMemoryGi !== undefined) labels['nvidia.com/gpu.memory'] = String(spec.gpuMemoryGi * 1024);
  if (spec.product !== undefined) labels['nvidia.com/gpu.product'] = spec.product;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: spec.name, labels, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
    status: { capacity: resources, allocatable: resources },
  };
}

function coreApi(kubeconfigPath: string): CoreV1Api {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  return config.makeApiClient(CoreV1Api);
}

/**
 * KWOK Stage configuration (its `--config` file): how the fake kubelet moves nodes and pods along.
 * Nodes become Ready; pods bound to a node start Running and Ready; deleted pods go away at once.
 * KWOK itself renews each node's Lease, which keeps the node lifecycle controller content.
 */
export function kwokStagesConfig(): string {
  const stages = [
    stage('gpu-node-ready', 'Node', [notReady], [statusPatch(NODE_READY_TEMPLATE)]),
    stage(
      'gpu-pod-ready',
      'Pod',
      [notDeleting, { key: '.status.phase', operator: 'In', values: ['Pending'] }, notReady],
      [statusPatch(POD_READY_TEMPLATE)],
    ),
    stage(
      'gpu-pod-delete',
      'Pod',
      [{ key: '.metadata.deletionTimestamp', operator: 'Exists' }],
      [{ delete: true }],
    ),
  ];
  // JSON documents are valid YAML; KWOK reads the file as a YAML stream.
  return stages.map((s) => JSON.stringify(s, null, 2)).join('\n---\n') + '\n';
}

interface Expression {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

const notReady: Expression = {
  key: '.status.conditions.[] | select( .type == "Ready" ) | .status',
  operator: 'NotIn',
  values: ['True'],
};
const notDeleting: Expression = { key: '.metadata.deletionTimestamp', operator: 'DoesNotExist' };

function stage(name: string, kind: 'Node' | 'Pod', matchExpressions: Expression[], steps: object[]): object {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name },
    spec: { resourceRef: { apiGroup: 'v1', kind }, selector: { matchExpressions }, steps },
  };
}

/** A strategic-merge patch of the status subresource rendered from a Go template. */
function statusPatch(template: string): object {
  return { patch: { subresource: 'status', root: 'status', template } };
}

const NODE_READY_TEMPLATE = `{{ $now := Now | Quote }}
conditions:
- type: Ready
  status: "True"
  reason: KubeletReady
  message: fake kubelet (kwok) is ready
  lastHeartbeatTime: {{ $now }}
  lastTransitionTime: {{ $now }}
{{ range list "MemoryPressure" "DiskPressure" "PIDPressure" }}
- type: {{ . }}
  status: "False"
  reason: KubeletHasNo{{ . }}
  message: fake kubelet (kwok) reports no pressure
  lastHeartbeatTime: {{ $now }}
  lastTransitionTime: {{ $now }}
{{ end }}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: fake
  kubeProxyVersion: fake
  containerRuntimeVersion: kwok
  kernelVersion: fake
  osImage: kwok
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
`;

const POD_READY_TEMPLATE = `{{ $now := Now | Quote }}
conditions:
{{ range list "Initialized" "ContainersReady" "Ready" }}
- type: {{ . }}
  status: "True"
  lastTransitionTime: {{ $now }}
{{ end }}
{{ range .spec.readinessGates }}
- type: {{ .conditionType | Quote }}
  status: "True"
  lastTransitionTime: {{ $now }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now }}
{{ end }}
{{ with .spec.initContainers }}
initContainerStatuses:
{{ range . }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $now }}
      finishedAt: {{ $now }}
{{ end }}
{{ end }}
{{ with PodIPsWith .spec.nodeName (or .spec.hostNetwork false) (or .metadata.uid "") (or .metadata.name "") (or .metadata.namespace "") }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Running
startTime: {{ $now }}
`;
