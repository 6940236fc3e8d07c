import { readDeclaration, parseReplicaHolder, replicaHolder } from '../../../../lambdas/core/moe/workload.js';

const trainer = {
  labels: { 'inference.eh-ops.io/moe-role': 'trainer' },
  annotations: {
    'inference.eh-ops.io/node-pool': 'gpu-a100',
    'inference.eh-ops.io/gpu-memory-per-replica': '320Gi',
    'inference.eh-ops.io/max-replicas': '1',
  },
  nodeSelector: { 'inference-pool': 'gpu-a100' },
};

describe('readDeclaration', () => {
  it('is not declared without the role label', () => {
    expect(readDeclaration({ ...trainer, labels: {} })).toEqual({ declared: false });
  });

  it('fills in the playbook ConfigMaps and checkpoint location', () => {
    expect(readDeclaration(trainer)).toEqual({
      declared: true,
      problems: [],
      declaration: {
        role: 'trainer',
        pool: 'gpu-a100',
        memory: '320Gi',
        memoryBytes: 320 * 2 ** 30,
        maxReplicas: 1,
        configMaps: { training: 'training-config', router: 'router-config' },
        checkpointLocation: '/storage/checkpoints',
      },
    });
  });

  it.each([
    [
      { labels: { 'inference.eh-ops.io/moe-role': 'router' } },
      'label inference.eh-ops.io/moe-role: "router" must be one of trainer, inference',
    ],
    [
      { annotations: { ...trainer.annotations, 'inference.eh-ops.io/node-pool': undefined } },
      'annotation inference.eh-ops.io/node-pool is required',
    ],
    [
      { annotations: { ...trainer.annotations, 'inference.eh-ops.io/node-pool': 'bad pool' } },
      'annotation inference.eh-ops.io/node-pool: pool name "bad pool" is not valid',
    ],
    [
      { nodeSelector: {} },
      'spec.template.spec.nodeSelector.inference-pool must be "gpu-a100" (annotation inference.eh-ops.io/node-pool), got nothing',
    ],
    [
      { annotations: { ...trainer.annotations, 'inference.eh-ops.io/gpu-memory-per-replica': '80GB' } },
      'must be the GPU memory one replica holds, e.g. 80Gi (got "80GB")',
    ],
    [
      { annotations: { ...trainer.annotations, 'inference.eh-ops.io/max-replicas': '0' } },
      'must be a whole number from 1 to 1000 (got "0")',
    ],
    [
      {
        annotations: {
          ...trainer.annotations,
          'inference.eh-ops.io/config-maps': 'inference=inference-config',
        },
      },
      'a trainer has no "inference" ConfigMap (allowed: training, router)',
    ],
    [
      { annotations: { ...trainer.annotations, 'inference.eh-ops.io/config-maps': 'router=router-config' } },
      'the training ConfigMap is required for a trainer',
    ],
    [
      { annotations: { ...trainer.annotations, 'inference.eh-ops.io/config-maps': 'training' } },
      '"training" is not part=name',
    ],
    [
      {
        annotations: {
          ...trainer.annotations,
          'inference.eh-ops.io/config-maps': 'training=Training_Config',
        },
      },
      '"Training_Config" is not a valid ConfigMap name',
    ],
    [
      {
        annotations: { ...trainer.annotations, 'inference.eh-ops.io/checkpoint-location': '/storage/../etc' },
      },
      'must be an absolute directory without ".."',
    ],
    [
      { annotations: { ...trainer.annotations, 'inference.eh-ops.io/checkpoint-location': 'checkpoints' } },
      'must be an absolute directory',
    ],
  ])('refuses %j: %s', (change, problem) => {
    const shape = { ...trainer, ...change } as Parameters<typeof readDeclaration>[0];
    const annotations = Object.fromEntries(
      Object.entries(shape.annotations).filter(([, v]) => v !== undefined),
    );
    const result = readDeclaration({ ...shape, annotations });
    expect(result).toEqual({
      declared: true,
      declaration: undefined,
      problems: [expect.stringContaining(problem)],
    });
  });
});

describe('replica holders', () => {
  it('round-trip, and never parse an InferenceModel holder', () => {
    expect(parseReplicaHolder(replicaHolder({ namespace: 'ml', name: 'moe-inference' }, 2))).toEqual({
      namespace: 'ml',
      name: 'moe-inference',
      replica: 2,
    });
    expect(parseReplicaHolder('ml/moe-inference')).toBeUndefined();
  });
});
