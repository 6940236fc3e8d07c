// Two governed clusters on two real kube-apiservers (the harness's, and a second one this file starts,
// each with its controller-manager, scheduler and KWOK GPU nodes) sharing one ledger table on dynalite,
// as a deployment of several clusters runs them: each cluster's Lambdas (here their handlers, configured
// as the stack configures them) with their own Kubernetes identity and their own keys in the ledger.
// The table starts as a single-cluster control plane left it: the first cluster adopts its items.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { runtimeConfig, webhookConfig } from '../../../lambdas/config.js';
import type { ClusterScope } from '../../../lambdas/core/clusters.js';
import { createWebhookHandler } from '../../../lambdas/handlers/admission-webhook.js';
import { createScheduledReconcileHandler } from '../../../lambdas/handlers/reconcile-scheduled.js';
import { createWarmUpApiHandler } from '../../../lambdas/handlers/warmup-api.js';
import { createGpuNode } from '../../../services/gpu-nodes.js';
import { CRD_NAME, repoRoot, runKubectl, uniqueName } from '../../../services/kubectl.js';
import { startKubernetes } from '../../../services/kubernetes.js';
import { sleep } from '../../../services/processes.js';
import { harnessEnv, type StartedService } from '../../../services/service.js';
import { admissionReview } from '../../support/builders.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import { lambdaContext } from '../../support/lambda-environment.js';

const Gi = 2 ** 30;
const fixture = new IntegrationFixture('clusters');
const { namespace } = fixture;
const pool = uniqueName('gpu');
const controlPlane = uniqueName('cp');
const CLUSTERS = 'alpha,beta';

type ApiHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

interface Governed {
  name: string;
  /** The cluster's own env: its kubeconfig (admin, for the test's kubectl), kubectl, client CA. */
  env: (name: string) => string;
  ledger: DynamoDbLedger;
  pass: () => Promise<unknown>;
  api: ApiHandler;
  webhook: ApiHandler;
}

const WEBHOOK_SECRET = 'two-clusters-webhook-secret-0123456789';

let table: string;
let secondDir: string;
let second: StartedService | undefined;
let alpha: Governed;
let beta: Governed;
/** The single-cluster control plane's allocation, made before there were clusters. */
let legacySince: number;

async function kubectl(cluster: Governed, args: string[], input?: string): Promise<string> {
  const result = await runKubectl(cluster.env('IBCP_KUBECTL'), cluster.env('IBCP_KUBECONFIG'), args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} on ${cluster.name}: ${result.stderr}`);
  return result.stdout;
}

function modelManifest(name: string, memory: string) {
  return {
    apiVersion: 'inference.eh-ops.io/v1alpha1',
    kind: 'InferenceModel',
    metadata: { namespace, name },
    spec: {
      modelName: name,
      memory,
      backendUrl: `http://${name}.${namespace}.svc:8000`,
      nodeSelector: { 'inference-pool': pool },
      containerImage: 'registry.example/vllm-openai:v0.6.0',
      resources: { limits: { gpu: 1 } },
    },
  };
}

async function applyModel(cluster: Governed, name: string, memory: string): Promise<void> {
  await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(modelManifest(name, memory)));
}

/** A cluster's Lambdas as the stack configures them: CLUSTER_NAME, its ledger keys, every cluster. */
async function govern(name: string, env: (variable: string) => string, scope: ClusterScope) {
  const settings = async (role: 'reconcile' | 'warmUp' | 'webhook') => ({
    LEDGER_TABLE: table,
    DYNAMODB_ENDPOINT: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
    KUBECONFIG: (await identityOf(role, env)).kubeconfig,
    WATCH_NAMESPACE: namespace,
    CLUSTER_NAME: name,
    LEDGER_KEYS: scope.legacyKeys ? 'legacy' : 'cluster',
    GOVERNED_CLUSTERS: CLUSTERS,
    CONTROL_PLANE_NAME: controlPlane,
    AMP_REMOTE_WRITE_URL: `${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/write`,
    START_DEADLINE_SECONDS: '900',
  });
  const [reconcileEnv, warmUpEnv, webhookEnv] = await Promise.all([
    settings('reconcile'),
    settings('warmUp'),
    settings('webhook'),
  ]);
  const scheduled = createScheduledReconcileHandler(() => runtimeConfig(reconcileEnv));
  const api = createWarmUpApiHandler(() => runtimeConfig(warmUpEnv)) as unknown as ApiHandler;
  const webhook = createWebhookHandler(() =>
    webhookConfig({ ...webhookEnv, WEBHOOK_SECRET }),
  ) as unknown as ApiHandler;
  return {
    name,
    env,
    ledger: new DynamoDbLedger(fixture.client, table, scope),
    pass: () => scheduled({}, lambdaContext(`reconcile-${name}`)),
    api,
    webhook,
  };
}

function call(handler: ApiHandler, method: string, path: string): Promise<APIGatewayProxyResult> {
  const event = { httpMethod: method, path, queryStringParameters: null, body: null, isBase64Encoded: false };
  return handler(event as unknown as APIGatewayProxyEvent, lambdaContext('warm-up'));
}

async function holders(cluster: Governed): Promise<string[]> {
  return (await cluster.ledger.readPool(pool)).allocations.map((a) => a.holder);
}

/** Scheduled passes until the model's status says Ready. */
async function untilReady(cluster: Governed, name: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await cluster.pass();
    const model = JSON.parse(
      await kubectl(cluster, ['get', 'inferencemodel', name, '-n', namespace, '-o', 'json']),
    ) as { status?: { ready?: boolean } };
    if (model.status?.ready) return;
    if (Date.now() > deadline)
      throw new Error(`${name} in ${cluster.name} not ready: ${JSON.stringify(model.status)}`);
    await sleep(500);
  }
}

/** One PromQL instant query against the harness's Prometheus (the clusters' remote write lands there). */
async function promql(expr: string): Promise<number[]> {
  const url = new URL(`${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/query`);
  url.searchParams.set('query', expr);
  const body = (await (await fetch(url)).json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.map((r) => Number(r.value[1]));
}

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = harnessEnv('IBCP_MOTO_ENDPOINT');
  const fresh = await fixture.setUp();
  table = fresh.table;
  await fixture.gpuNode(pool, { gpus: 8, gpuMemoryGi: 80 });
  // The ledger a single-cluster control plane left: its pool and an allocation, no cluster on them.
  await fresh.ledger.definePool({ name: pool, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng' });
  legacySince = Date.now();
  await fresh.ledger.allocate({ pool, holder: `${namespace}/llama`, bytes: 32 * Gi, now: legacySince });

  secondDir = await mkdtemp(join(tmpdir(), 'ibcp-second-cluster-'));
  second = await startKubernetes(secondDir);
  const secondEnv = second.env;
  const own = (name: string) => {
    const value = secondEnv[name];
    if (!value) throw new Error(`the second cluster has no ${name}`);
    return value;
  };
  for (const args of [
    ['apply', '-k', join(repoRoot, 'deploy')],
    ['wait', '--for=condition=Established', '--timeout=60s', `crd/${CRD_NAME}`],
    ['create', 'namespace', namespace],
  ]) {
    const result = await runKubectl(own('IBCP_KUBECTL'), own('IBCP_KUBECONFIG'), args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} on beta: ${result.stderr}`);
  }
  await createGpuNode(own('IBCP_KUBECONFIG'), { name: `${pool}-node`, pool, gpus: 8, gpuMemoryGi: 80 });

  alpha = await govern('alpha', harnessEnv, { cluster: 'alpha', legacyKeys: true });
  beta = await govern('beta', own, { cluster: 'beta', legacyKeys: false });
  // What each cluster's scheduled pass does first with its NODE_POOLS: alpha's adopts the legacy pool.
  await alpha.ledger.definePool({ name: pool, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng' });
  await beta.ledger.definePool({ name: pool, totalBytes: 40 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng' });
}, 600_000);

afterAll(async () => {
  await second?.stop();
  if (secondDir) await rm(secondDir, { recursive: true, force: true });
  await fixture.tearDown();
}, 120_000);

describe('two clusters, one ledger', () => {
  it('migrates a single-cluster ledger: the first cluster keeps its budget and allocation', async () => {
    await expect(alpha.ledger.readPool(pool)).resolves.toMatchObject({
      totalBytes: 80 * Gi,
      allocatedBytes: 32 * Gi,
      allocations: [expect.objectContaining({ holder: `${namespace}/llama`, since: legacySince })],
    });
    await expect(beta.ledger.readPool(pool)).resolves.toMatchObject({ allocatedBytes: 0 });
    // The model the allocation was made for runs on it: no second allocation, none lost.
    await applyModel(alpha, 'llama', '32Gi');
    await untilReady(alpha, 'llama');
    expect(await holders(alpha)).toEqual([`${namespace}/llama`]);
    expect((await alpha.ledger.readPool(pool)).allocatedBytes).toBe(32 * Gi);
  }, 300_000);

  it('keeps each cluster its own budget for the same pool and model names', async () => {
    await applyModel(beta, 'llama', '32Gi');
    await untilReady(beta, 'llama');
    expect(await holders(beta)).toEqual([`${namespace}/llama`]);
    await expect(beta.ledger.readPool(pool)).resolves.toMatchObject({
      totalBytes: 40 * Gi,
      allocatedBytes: 32 * Gi,
    });

    // 16Gi more fits alpha's 80Gi, not beta's 40Gi: alpha's room is not beta's.
    await applyModel(alpha, 'mistral', '16Gi');
    await applyModel(beta, 'mistral', '16Gi');
    await untilReady(alpha, 'mistral');
    await beta.pass();
    expect(await holders(alpha)).toEqual([`${namespace}/llama`, `${namespace}/mistral`]);
    expect(await holders(beta)).toEqual([`${namespace}/llama`]);
    const conditions = JSON.parse(
      await kubectl(beta, [
        'get',
        'inferencemodel',
        'mistral',
        '-n',
        namespace,
        '-o',
        'jsonpath={.status.conditions}',
      ]),
    ) as { type: string; reason: string }[];
    expect(conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'InsufficientMemory' });
  }, 300_000);

  it('answers GET /v1/pools grouped by cluster, and a warm-up addressed to a cluster', async () => {
    const listed = await call(alpha.api, 'GET', '/v1/pools');
    expect(listed.statusCode).toBe(200);
    const body = JSON.parse(listed.body) as {
      clusters: { name: string; pools: { name: string; allocated: string }[] }[];
      pools: { cluster: string; name: string }[];
    };
    expect(body.clusters.map((c) => [c.name, c.pools.map((p) => [p.name, p.allocated])])).toEqual([
      ['alpha', [[pool, '48Gi']]],
      ['beta', [[pool, '32Gi']]],
    ]);
    expect(body.pools.map((p) => `${p.cluster}/${p.name}`)).toEqual([`alpha/${pool}`, `beta/${pool}`]);

    // Beta's model, through beta's own Lambda (API Gateway routes /v1/clusters/beta/... to it).
    const model = `/v1/clusters/beta/models/${namespace}/llama`;
    const warm = await call(beta.api, 'POST', `${model}/warmup`);
    expect(warm.statusCode).toBe(200);
    const viewed = await call(beta.api, 'GET', model);
    expect(JSON.parse(viewed.body)).toMatchObject({ name: 'llama', namespace, ready: true });
    // A Lambda answers for its own cluster only.
    const elsewhere = await call(alpha.api, 'GET', model);
    expect(elsewhere.statusCode).toBe(404);
    expect(JSON.parse(elsewhere.body)).toMatchObject({
      error: { code: 'not_found', message: 'Cluster "beta" is not governed by this control plane' },
    });
  }, 120_000);

  it("has each cluster's webhook check a model against its own cluster's budget for the pool", async () => {
    // 64Gi fits alpha's 80Gi pool, not beta's 40Gi one of the same name.
    const review = async (cluster: Governed) => {
      const path = `/webhook/${WEBHOOK_SECRET}`;
      const event = {
        httpMethod: 'POST',
        path,
        headers: { 'Content-Type': 'application/json' },
        body: admissionReview(modelManifest('big', '64Gi'), namespace).json(),
        isBase64Encoded: false,
      };
      const answer = await cluster.webhook(event as never, lambdaContext(`webhook-${cluster.name}`));
      expect(answer.statusCode).toBe(200);
      return (JSON.parse(answer.body) as { response: { allowed: boolean; status?: { message: string } } })
        .response;
    };
    expect(await review(alpha)).toMatchObject({ allowed: true });
    const refused = await review(beta);
    expect(refused.allowed).toBe(false);
    expect(refused.status?.message).toContain('40Gi');
  }, 60_000);

  it("leaves the other cluster governed when one cluster's API server is gone, on its own error metric", async () => {
    await second!.stop();
    second = undefined;
    // Beta's pass fails, as its Lambda would; its budget stays as it was.
    await expect(beta.pass()).rejects.toThrow();
    await expect(beta.ledger.readPool(pool)).resolves.toMatchObject({ allocatedBytes: 32 * Gi });
    // Alpha's passes go on: a new model gets its budget and runs.
    await applyModel(alpha, 'phi', '8Gi');
    await untilReady(alpha, 'phi');
    expect(await holders(alpha)).toEqual([`${namespace}/llama`, `${namespace}/mistral`, `${namespace}/phi`]);
    // The failure is counted on beta's series only.
    const errors = (cluster: string) =>
      promql(
        `inference_control_plane_reconcile_errors_total{control_plane="${controlPlane}",cluster="${cluster}"}`,
      );
    let beta_errors: number[] = [];
    for (let tries = 0; tries < 40 && !(beta_errors[0]! >= 1); tries++) {
      beta_errors = await errors('beta');
      if (!(beta_errors[0]! >= 1)) await sleep(250);
    }
    expect(beta_errors).toEqual([1]);
    expect(await errors('alpha')).toEqual([0]);
  }, 300_000);
});
