// The pure mappers of the Kubernetes adapter: the objects the API server holds in, the core's words out,
// and back. The adapter's calls themselves are tested against kube-apiserver (test/integration/adapters/).
import type { V1ContainerStatus, V1Deployment, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import {
  deploymentFor,
  labelValue,
  podProblem,
  templatePatch,
  toInferenceModel,
  toManagedDeployment,
  toPodTemplate,
} from '../../../lambdas/adapters/kubernetes-cluster-mappers.js';
import { inferenceModel, CRD_SPEC_DEFAULTS } from '../../support/builders.js';

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

describe('toInferenceModel: the stored object with the CRD’s defaults again', () => {
  it('fills every default for an object stored before the defaults existed (or with nulls)', () => {
    const model = toInferenceModel({
      metadata: { namespace: 'ml', name: 'llama', uid: 'u1', generation: 3, finalizers: ['f'] },
      spec: {
        modelName: 'meta-llama/Llama-2-7b',
        memory: '16Gi',
        backendUrl: 'http://llama:8000',
        cooldownPeriod: null,
        maxReplicas: null,
      },
    });
    expect(model).toEqual({
      namespace: 'ml',
      name: 'llama',
      uid: 'u1',
      generation: 3,
      deleting: false,
      finalizers: ['f'],
      status: {},
      spec: {
        modelName: 'meta-llama/Llama-2-7b',
        memory: '16Gi',
        backendUrl: 'http://llama:8000',
        ...CRD_SPEC_DEFAULTS,
      },
    });
  });

  it('reads int-or-string quantities as strings, a GPU count as a number, and the deletion stamp', () => {
    const model = toInferenceModel({
      metadata: { namespace: 'ml', name: 'llama', deletionTimestamp: new Date(0) },
      spec: {
        resources: { requests: { cpu: 2, memory: '8Gi' }, limits: { gpu: '1' } },
        startDeadline: '30m',
      },
      status: { ready: true },
    });
    expect(model.deleting).toBe(true);
    expect(model.spec.resources).toEqual({ requests: { cpu: '2', memory: '8Gi' }, limits: { gpu: 1 } });
    expect(model.spec.startDeadline).toBe('30m');
    expect(model.status).toEqual({ ready: true });
  });
});

describe('deploymentFor and toManagedDeployment: the model’s Deployment and back', () => {
  const model = inferenceModel('llama', { modelName: 'meta-llama/Llama-2-7b', memory: '24Gi' });

  it('owns the Deployment by the model, selects on name and model labels, and recreates on rollout', () => {
    const deployment = deploymentFor(model, 1, Date.UTC(2026, 11, 2, 9, 30));
    expect(deployment.metadata).toMatchObject({
      name: 'llama',
      namespace: 'ml',
      annotations: {
        'inference.eh-ops.io/memory': '24Gi',
        'inference.eh-ops.io/scaled-up-at': '2026-12-02T09:30:00.000Z',
      },
      ownerReferences: [
        {
          kind: 'InferenceModel',
          name: 'llama',
          uid: 'uid-ml-llama',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    expect(deployment.spec?.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'llama',
      'inference.eh-ops.io/model': 'meta-llama-llama-2-7b',
    });
    expect(deployment.spec?.template.metadata?.labels).toMatchObject({
      'inference.eh-ops.io/managed': 'true',
    });
    expect(deployment.spec?.strategy).toEqual({ type: 'Recreate' });
    expect(deployment.spec?.replicas).toBe(1);
  });

  it('reads back what it wrote, as the reconciler sees a Deployment it just created', () => {
    const createdAt = Date.UTC(2026, 11, 2, 9, 30);
    const written = deploymentFor(model, 1, createdAt);
    expect(toManagedDeployment(written)).toEqual({
      namespace: 'ml',
      name: 'llama',
      replicas: 1,
      readyReplicas: 0,
      failed: false,
      memoryAnnotation: '24Gi',
      scaledToZeroAt: undefined,
      scaledUpAt: createdAt,
      startFailure: undefined,
      resizeRefusedFor: undefined,
      template: toPodTemplate(written.spec?.template.spec),
    });
  });

  it('reads the control plane’s notes and a missed progress deadline', () => {
    const deployment: V1Deployment = {
      metadata: {
        namespace: 'ml',
        name: 'llama',
        annotations: {
          'inference.eh-ops.io/scaled-to-zero-at': '2026-11-27T15:00:00.000Z',
          'inference.eh-ops.io/scaled-up-at': 'not a time',
          'inference.eh-ops.io/start-failure': 'image pull failed',
          'inference.eh-ops.io/resize-refused': '48Gi',
        },
      },
      spec: { replicas: 0, selector: {}, template: {} },
      status: { conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] },
    };
    expect(toManagedDeployment(deployment)).toMatchObject({
      failed: true,
      scaledToZeroAt: Date.parse('2026-11-27T15:00:00.000Z'),
      scaledUpAt: undefined,
      startFailure: 'image pull failed',
      resizeRefusedFor: '48Gi',
    });
  });
});

describe('templatePatch: a rollout that leaves other containers alone', () => {
  it('keys the container by name and replaces the node selector and resource maps whole', () => {
    const patch = templatePatch(inferenceModel('llama', { pool: 'gpu-h100' }));
    expect(patch.strategy).toEqual({ type: 'Recreate', rollingUpdate: null });
    expect(patch.template.spec.nodeSelector).toEqual({ $patch: 'replace', 'inference-pool': 'gpu-h100' });
    const [container] = patch.template.spec.containers;
    expect(container).toMatchObject({ name: 'inference-server', image: 'vllm/vllm-openai:v0.6.0' });
    expect(container?.resources).toEqual({
      requests: { $patch: 'replace', 'nvidia.com/gpu': '1' },
      limits: { $patch: 'replace', 'nvidia.com/gpu': '1' },
    });
  });
});

describe('labelValue', () => {
  it('turns any model name into a valid label value', () => {
    expect(labelValue('llama-2-70b')).toBe('llama-2-70b');
    expect(labelValue('Llama_2.70B')).toBe('Llama_2.70B');
    expect(labelValue('meta-llama/Llama-2-70b-chat')).toBe('meta-llama-llama-2-70b-chat');
    expect(labelValue('/model:v1/')).toBe('model-v1');
    expect(labelValue('x'.repeat(62) + '/y')).toBe('x'.repeat(62));
    expect(labelValue('a'.repeat(80))).toBe('a'.repeat(63));
  });
});
