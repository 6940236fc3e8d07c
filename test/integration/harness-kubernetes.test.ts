import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { createGpuNode, deleteGpuNode } from '../../services/gpu-nodes.js';
import { KUBERNETES_VERSION } from '../../services/kubernetes.js';
import { runCommand, sleep } from '../../services/processes.js';
import { harnessEnv } from '../../services/service.js';

const suffix = Date.now().toString(36);
const namespace = `harness-k8s-${suffix}`;
const nodeName = `gpu-node-${suffix}`;
const pool = `pool-${suffix}`;

describe('kubernetes harness', () => {
  const kubeconfig = harnessEnv('IBCP_KUBECONFIG');
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await deleteGpuNode(kubeconfig, nodeName).catch(() => undefined);
  });

  it('serves the pinned Kubernetes release to the built kubectl', async () => {
    const output = await runCommand('kubectl', harnessEnv('IBCP_KUBECTL'), [
      '--kubeconfig',
      kubeconfig,
      'version',
      '-o',
      'json',
    ]);
    const version = JSON.parse(output) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toBe(KUBERNETES_VERSION);
  });

  it('runs a GPU Deployment on a fake KWOK node until its pod is Running and Ready', async () => {
    const node = await createGpuNode(kubeconfig, { name: nodeName, pool, gpus: 8, gpuMemoryGi: 80 });
    expect(node.status?.allocatable?.['nvidia.com/gpu']).toBe('8');
    expect(node.metadata?.labels?.['nvidia.com/gpu.memory']).toBe('81920');

    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'llm' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'llm' } },
          template: {
            metadata: { labels: { app: 'llm' } },
            spec: {
              nodeSelector: { 'inference-pool': pool },
              containers: [
                {
                  name: 'server',
                  image: 'example.invalid/llm-server:1',
                  resources: { limits: { 'nvidia.com/gpu': '1' }, requests: { cpu: '1', memory: '4Gi' } },
                },
              ],
            },
          },
        },
      },
    });

    const pod = await waitForPod(core, namespace, 'app=llm', 60_000);
    expect(pod.spec?.nodeName).toBe(nodeName);
    expect(pod.status?.phase).toBe('Running');
  });
});

async function waitForPod(
  core: CoreV1Api,
  ns: string,
  labelSelector: string,
  timeoutMs: number,
): Promise<V1Pod> {
  const deadline = Date.now() + timeoutMs;
  let last: V1Pod[] = [];
  while (Date.now() < deadline) {
    last = (await core.listNamespacedPod({ namespace: ns, labelSelector })).items;
    const ready = last.find((pod) =>
      pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    );
    if (ready) return ready;
    await sleep(250);
  }
  throw new Error(
    `no Ready pod for ${labelSelector} in ${ns}: ${JSON.stringify(last.map((pod) => pod.status))}`,
  );
}
