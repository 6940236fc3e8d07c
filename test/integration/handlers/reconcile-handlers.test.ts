// The two reconcile Lambdas as Lambda would run them: configured from the environment only, against
// the harness's kube-apiserver and dynalite, logging JSON lines that the seed's jq recipes can filter.
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { RemoteWriteSink } from '../../../lambdas/adapters/prometheus-remote-write.js';
import { harnessEnv } from '../../../services/service.js';
import { jsonLinesPrinted } from '../../support/captured-output.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import type { RuntimeConfig } from '../../../lambdas/config.js';
import { createReconcileModelHandler } from '../../../lambdas/handlers/reconcile-model.js';
import { createScheduledReconcileHandler } from '../../../lambdas/handlers/reconcile-scheduled.js';
import { harnessConfig, lambdaContext } from '../../support/lambda-environment.js';
import { kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { inferenceModelManifest, workloadPassReport } from '../../support/builders.js';

const Gi = 2 ** 30;
const fixture = new IntegrationFixture('handlers');
const { namespace } = fixture;
const pool = uniqueName('pool-h');
const controlPlane = uniqueName('cp');

/** One PromQL instant query against the harness's Prometheus: the values of the result. */
async function promql(expr: string): Promise<number[]> {
  const url = new URL(`${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/query`);
  url.searchParams.set('query', expr);
  const body = (await (await fetch(url)).json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.map((r) => Number(r.value[1]));
}
const context = lambdaContext('reconcile');
let ledger: DynamoDbLedger;

beforeAll(async () => {
  const fresh = await fixture.setUp();
  await fixture.gpuNode(pool, { gpus: 4 });
  ledger = fresh.ledger;
  await ledger.definePool({ name: pool, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng-h' });
  config = harnessConfig(fresh.table, namespace, {
    AMP_REMOTE_WRITE_URL: `${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/write`,
    CONTROL_PLANE_NAME: controlPlane,
    PROMETHEUS_QUERY_URL: harnessEnv('IBCP_PROMETHEUS_URL'),
    RECOMMENDATION_WINDOW_SECONDS: '600',
    // Both reconcile Lambdas sign in as their group (deploy/rbac/), as their EKS access entries map them.
    KUBECONFIG: (await identityOf('reconcile')).kubeconfig,
  });
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify(
      inferenceModelManifest(
        'llama-2-7b',
        {
          backendUrl: 'http://llama:8000',
          nodeSelector: { 'inference-pool': pool },
          containerImage: 'registry.example/vllm:1',
        },
        namespace,
      ),
    ),
  );
});

afterAll(() => fixture.tearDown());

// One handler of each, as one warm Lambda of each serves every event below.
let config: RuntimeConfig;
const reconcileModel = createReconcileModelHandler(() => config);
const reconcileScheduled = createScheduledReconcileHandler(() => config);

describe('reconcile-model handler', () => {
  it('reconciles the model named by the event, and logs with model and namespace keys', async () => {
    const handler = reconcileModel;
    const event = { 'detail-type': 'InferenceModel changed', detail: { namespace, name: 'llama-2-7b' } };
    let result: unknown;
    const logs = await jsonLinesPrinted(async () => (result = await handler(event as never, context)));
    expect(result).toEqual({ reconciled: `${namespace}/llama-2-7b` });
    expect((await ledger.readPool(pool)).allocations.map((a) => a.holder)).toEqual([
      `${namespace}/llama-2-7b`,
    ]);
    // jq 'select(.model == "llama-2-7b")'
    const forModel = logs.filter((l) => l.model === 'llama-2-7b').map((l) => l.message);
    expect(forModel).toEqual(['Memory budget allocated', 'Created deployment for InferenceModel']);
    expect(logs.find((l) => l.message === 'Memory budget allocated')).toMatchObject({
      namespace,
      memory: '16Gi',
      nodePool: pool,
      level: 'INFO',
    });
  });

  it.each([
    ['no detail', undefined],
    ['wrong types', { namespace: 1, name: ['x'] }],
    ['not a Kubernetes name', { namespace, name: 'Llama 2 ☃' }],
    ['path tricks', { namespace: '..', name: 'x/../../y' }],
  ])('drops a malformed event (%s) with a clear log and no change', async (_case, detail) => {
    const handler = reconcileModel;
    const before = await ledger.readPool(pool);
    let result: unknown;
    const logs = await jsonLinesPrinted(async () => (result = await handler({ detail } as never, context)));
    expect(result).toMatchObject({ rejected: expect.any(String) });
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'Rejected reconcile event' }),
    );
    await expect(ledger.readPool(pool)).resolves.toEqual(before);
  });
});

describe('reconcile-scheduled handler', () => {
  it('runs a pass over the namespace, publishes metrics and right-sizing from DCGM, and reports it', async () => {
    // dcgm-exporter's view of the model's pod: 15000 MiB used on its one GPU.
    const pods = JSON.parse(await kubectlOk(['get', 'pods', '-n', namespace, '-o', 'json'])) as {
      items: { metadata: { name: string } }[];
    };
    const pod = pods.items[0]!.metadata.name;
    await new RemoteWriteSink(`${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/write`).write([
      {
        metric: 'DCGM_FI_DEV_FB_USED',
        labels: { namespace, pod, gpu: '0' },
        value: 15000,
        // A minute ago: the peak query steps every 30 s, as dcgm-exporter scrapes.
        timestampMs: Date.now() - 60_000,
      },
    ]);
    const handler = reconcileScheduled;
    let report: unknown;
    const logs = await jsonLinesPrinted(async () => (report = await handler({} as never, context)));
    expect(report).toEqual({
      models: 1,
      errors: [],
      orphansReleased: [],
      // Every pool's admission queue length, published as a gauge (docs/metrics.md).
      queued: { [pool]: 0 },
      workloads: workloadPassReport(),
    });
    expect(logs).toContainEqual(
      expect.objectContaining({ message: 'Reconcile pass finished', models: 1, errors: 0 }),
    );
    // CloudWatch: the pool's budget as EMF, by node_pool only.
    expect(logs).toContainEqual(
      expect.objectContaining({ node_pool: pool, BudgetTotalBytes: 80 * Gi, BudgetAllocatedBytes: 16 * Gi }),
    );
    // Prometheus (AMP's stand-in), by remote write: the seed's series and the control plane's own.
    expect(await promql(`inference_budget_total_bytes{node_pool="${pool}"}`)).toEqual([80 * Gi]);
    expect(await promql(`inference_budget_allocated_bytes{node_pool="${pool}"}`)).toEqual([16 * Gi]);
    expect(
      await promql(`inference_model_memory_declared_bytes{namespace="${namespace}",model="llama-2-7b"}`),
    ).toEqual([16 * Gi]);
    expect(await promql(`inference_model_replicas{namespace="${namespace}"}`)).toEqual([1]);
    const cp = `control_plane="${controlPlane}"`;
    expect(await promql(`inference_control_plane_reconcile_errors_total{${cp}}`)).toEqual([0]);
    expect(await promql(`inference_control_plane_reconcile_duration_seconds_count{${cp}}`)).toEqual([1]);
    const [lastSuccess] = await promql(
      `inference_control_plane_last_successful_reconcile_timestamp_seconds{${cp}}`,
    );
    expect(Date.now() / 1000 - lastSuccess!).toBeLessThan(60);
    const status = JSON.parse(
      await kubectlOk(['get', 'inferencemodel', 'llama-2-7b', '-n', namespace, '-o', 'jsonpath={.status}']),
    ) as Record<string, unknown>;
    expect(status).toMatchObject({
      observedPeakMemory: '15000Mi',
      utilizationPercent: 91,
      recommendation: expect.stringContaining('Consider increasing memory from 16Gi to 17Gi'),
    });
  });

  it('meters the GPU memory each model held since the previous pass, to both sinks (showback)', async () => {
    const handler = reconcileScheduled;
    // The pass above started the meter; this one counts the 16Gi held since then.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const logs = await jsonLinesPrinted(() => handler({} as never, context));
    const emf = logs.find((line) => 'HeldGpuMemoryByteSeconds' in line);
    expect(emf).toMatchObject({ node_pool: pool, namespace, model: 'llama-2-7b' });
    const seconds = Number(emf!.HeldGpuMemoryByteSeconds) / (16 * Gi);
    expect(seconds).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(120);
    const [held] = await promql(
      `inference_budget_held_byte_seconds_total{node_pool="${pool}",namespace="${namespace}",model="llama-2-7b"}`,
    );
    expect(held).toBe(Number(emf!.HeldGpuMemoryByteSeconds));
    expect(await promql(`inference_node_pool_gpu_memory_per_node_bytes{node_pool="${pool}"}`)).toEqual([
      80 * Gi,
    ]);
  });
});
