import type { Alert } from '../../../../lambdas/core/remediation/alerts.js';
import { resolveTarget } from '../../../../lambdas/core/remediation/targets.js';
import type { MoeWorkload } from '../../../../lambdas/core/moe/workload.js';

function workload(namespace: string, name: string, role: 'trainer' | 'inference'): MoeWorkload {
  return {
    namespace,
    name,
    role,
    pool: 'gpu-a100',
    memory: '80Gi',
    memoryBytes: 80 * 2 ** 30,
    maxReplicas: 3,
    configMaps: {},
    checkpointLocation: undefined,
    replicas: 1,
    readyReplicas: 1,
    latestCheckpoint: undefined,
    checkpointPath: undefined,
    scaleBack: undefined,
  };
}

const listing = {
  workloads: [
    workload('ml', 'moe-trainer', 'trainer'),
    workload('ml', 'moe-inference', 'inference'),
    workload('ml', 'moe-inference-canary', 'inference'),
    workload('lab', 'moe-trainer', 'trainer'),
  ],
  invalid: [{ namespace: 'ml', name: 'moe-trainer-old', problems: ['annotation x is required'] }],
};

function alert(name: string, labels: Record<string, string>): Alert {
  return {
    name,
    status: 'firing',
    labels: { alertname: name, ...labels },
    startsAt: 1,
    endsAt: undefined,
    episode: 'e',
    source: 'alertmanager',
  };
}

describe('resolveTarget', () => {
  it.each([
    [
      'deployment',
      { namespace: 'ml', deployment: 'moe-inference' },
      'InferenceLatencyHigh',
      'ml/moe-inference',
    ],
    ['job name', { namespace: 'lab', job: 'moe-trainer' }, 'GPUMemoryUsageHigh', 'lab/moe-trainer'],
    ['job namespace/name', { job: 'lab/moe-trainer' }, 'ExpertLoadImbalance', 'lab/moe-trainer'],
    [
      'pod of the Deployment',
      { namespace: 'ml', pod: 'moe-inference-7d9f8b6c5d-x2k4p' },
      'InferenceLatencyHigh',
      'ml/moe-inference',
    ],
    [
      'pod of the canary',
      { namespace: 'ml', pod: 'moe-inference-canary-6c5d7d9f8b-abcde' },
      'InferenceLatencyHigh',
      'ml/moe-inference-canary',
    ],
  ])('finds the workload by %s', (_by, labels, name, expected) => {
    const target = resolveTarget(alert(name, labels), listing);
    expect(target.workload && `${target.workload.namespace}/${target.workload.name}`).toBe(expected);
  });

  it.each([
    [
      'no identifying label',
      { namespace: 'ml' },
      'GPUMemoryUsageHigh',
      'has no deployment, job or pod label',
    ],
    [
      'the wrong role',
      { namespace: 'ml', deployment: 'moe-trainer' },
      'InferenceLatencyHigh',
      'matches no declared MoE inference workload',
    ],
    [
      'an ambiguous name',
      { deployment: 'moe-trainer' },
      'GPUMemoryUsageHigh',
      'matches 2 trainer workloads (ml/moe-trainer, lab/moe-trainer): add a namespace label',
    ],
    [
      'an invalid declaration',
      { namespace: 'ml', deployment: 'moe-trainer-old' },
      'GPUMemoryUsageHigh',
      'whose declaration is invalid: annotation x is required',
    ],
    [
      'another namespace',
      { namespace: 'prod', deployment: 'moe-trainer' },
      'GPUMemoryUsageHigh',
      'matches no declared MoE trainer workload',
    ],
  ])('says why with %s', (_case, labels, name, problem) => {
    expect(resolveTarget(alert(name, labels), listing).problem).toContain(problem);
  });
});
