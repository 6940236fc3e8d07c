// The pure mappers of the Kubernetes adapter: Pod and PodSpec objects in, the core's words out. The
// adapter's calls themselves are tested against kube-apiserver (test/integration/adapters/).
import type { V1ContainerStatus, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { podProblem, toPodTemplate } from '../../../lambdas/adapters/kubernetes-cluster.js';

function pod(status: V1Pod['status']): V1Pod {
  return { metadata: { name: 'llama-7d9f-x2x4q', namespace: 'models' }, status };
}

function container(state: V1ContainerStatus['state'], lastState?: V1ContainerStatus['lastState']) {
  return {
    name: 'inference-server',
    image: 'registry.example/vllm:0.6',
    imageID: '',
    ready: false,
    restartCount: 3,
    state,
    ...(lastState && { lastState }),
  };
}

describe('podProblem: why a pod does not start, in the cluster’s words', () => {
  it.each<[string, V1Pod['status'], string | undefined]>([
    [
      'unschedulable: the scheduler’s message',
      {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message:
              "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
          },
        ],
      },
      "pod llama-7d9f-x2x4q cannot be scheduled: 0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
    ],
    [
      'unschedulable without a message: the reason',
      { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
      'pod llama-7d9f-x2x4q cannot be scheduled: Unschedulable',
    ],
    [
      'ErrImagePull',
      {
        phase: 'Pending',
        containerStatuses: [
          container({
            waiting: {
              reason: 'ErrImagePull',
              message: 'failed to pull and unpack image "registry.example/vllm:0.6": not found',
            },
          }),
        ],
      },
      'pod llama-7d9f-x2x4q: ErrImagePull: failed to pull and unpack image "registry.example/vllm:0.6": not found',
    ],
    [
      'ImagePullBackOff',
      {
        phase: 'Pending',
        containerStatuses: [
          container({
            waiting: {
              reason: 'ImagePullBackOff',
              message: 'Back-off pulling image "registry.example/vllm:0.6"',
            },
          }),
        ],
      },
      'pod llama-7d9f-x2x4q: ImagePullBackOff: Back-off pulling image "registry.example/vllm:0.6"',
    ],
    [
      'CrashLoopBackOff: the last exit when the kubelet gives no more',
      {
        phase: 'Running',
        containerStatuses: [
          container(
            { waiting: { reason: 'CrashLoopBackOff' } },
            { terminated: { exitCode: 137, reason: 'OOMKilled' } },
          ),
        ],
      },
      'pod llama-7d9f-x2x4q: CrashLoopBackOff: last exit code 137 (OOMKilled)',
    ],
    [
      'CrashLoopBackOff: how it last ended rather than the kubelet’s back-off message',
      {
        phase: 'Running',
        containerStatuses: [
          container(
            {
              waiting: {
                reason: 'CrashLoopBackOff',
                message:
                  'back-off 5m0s restarting failed container=inference-server pod=llama-7d9f-x2x4q_models(1)',
              },
            },
            { terminated: { exitCode: 1, reason: 'Error' } },
          ),
        ],
      },
      'pod llama-7d9f-x2x4q: CrashLoopBackOff: last exit code 1 (Error)',
    ],
    [
      'CrashLoopBackOff with only the kubelet’s message',
      {
        phase: 'Running',
        containerStatuses: [
          container({
            waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' },
          }),
        ],
      },
      'pod llama-7d9f-x2x4q: CrashLoopBackOff: back-off 10s restarting failed container',
    ],
    [
      'CreateContainerConfigError: the kubelet’s message',
      {
        phase: 'Pending',
        containerStatuses: [
          container({
            waiting: { reason: 'CreateContainerConfigError', message: 'secret "hf-token" not found' },
          }),
        ],
      },
      'pod llama-7d9f-x2x4q: CreateContainerConfigError: secret "hf-token" not found',
    ],
    [
      'CrashLoopBackOff, nothing more known',
      { phase: 'Running', containerStatuses: [container({ waiting: { reason: 'CrashLoopBackOff' } })] },
      'pod llama-7d9f-x2x4q: CrashLoopBackOff',
    ],
    [
      'still creating its container: no problem yet',
      {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'True' }],
        containerStatuses: [container({ waiting: { reason: 'ContainerCreating' } })],
      },
      undefined,
    ],
    [
      'initializing: no problem yet',
      { phase: 'Pending', containerStatuses: [container({ waiting: { reason: 'PodInitializing' } })] },
      undefined,
    ],
    [
      'running and ready',
      {
        phase: 'Running',
        conditions: [
          { type: 'PodScheduled', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        containerStatuses: [{ ...container({ running: { startedAt: new Date(0) } }), ready: true }],
      },
      undefined,
    ],
    ['no status yet', undefined, undefined],
  ])('%s', (_case, status, problem) => {
    expect(podProblem(pod(status))).toBe(problem);
  });
});

describe('toPodTemplate: the pod spec read back as the core compares it', () => {
  const inferenceServer = {
    name: 'inference-server',
    image: 'registry.example/vllm:0.6',
    env: [
      { name: 'HF_HOME', value: '/cache' },
      { name: 'MODEL_NAME', value: 'meta-llama/Llama-2-7b' },
    ],
    resources: {
      requests: { cpu: '500m', memory: '8Gi', 'nvidia.com/gpu': '1' },
      limits: { cpu: '1', memory: '16Gi', 'nvidia.com/gpu': '1' },
    },
  };

  it('reads the inference-server container, wherever it is among the containers', () => {
    const spec: V1PodSpec = {
      nodeSelector: { 'inference-pool': 'gpu-a100' },
      containers: [{ name: 'log-shipper', image: 'fluent-bit:3' }, inferenceServer],
    };
    expect(toPodTemplate(spec)).toEqual({
      image: 'registry.example/vllm:0.6',
      modelName: 'meta-llama/Llama-2-7b',
      nodeSelector: { 'inference-pool': 'gpu-a100' },
      requests: { cpu: '500m', memory: '8Gi', 'nvidia.com/gpu': '1' },
      limits: { cpu: '1', memory: '16Gi', 'nvidia.com/gpu': '1' },
    });
  });

  it('falls back to the first container of a Deployment someone else wrote', () => {
    const spec: V1PodSpec = {
      containers: [
        { name: 'server', image: 'vllm:1' },
        { name: 'b', image: 'b' },
      ],
    };
    expect(toPodTemplate(spec)).toEqual({
      image: 'vllm:1',
      modelName: '',
      nodeSelector: {},
      requests: {},
      limits: {},
    });
  });

  it('is empty, not an error, without a spec', () => {
    expect(toPodTemplate(undefined)).toEqual({
      image: '',
      modelName: '',
      nodeSelector: {},
      requests: {},
      limits: {},
    });
  });

  it('copies the node selector rather than sharing it', () => {
    const spec: V1PodSpec = { nodeSelector: { 'inference-pool': 'a' }, containers: [inferenceServer] };
    const template = toPodTemplate(spec);
    template.nodeSelector['inference-pool'] = 'b';
    expect(spec.nodeSelector).toEqual({ 'inference-pool': 'a' });
  });
});
