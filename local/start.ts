// `npm start`: the control plane on this machine. A local Kubernetes (the test harness's kube-apiserver,
// controller-manager, scheduler and KWOK GPU nodes), the ledger on dynalite, and the same Lambda
// handlers: the warm-up API over HTTP, the scheduled reconcile on a timer, metrics at /metrics.
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../lambdas/adapters/dynamodb-ledger.js';
import { kubeConfigFromFile } from '../lambdas/adapters/kube-config.js';
import { KubernetesCluster } from '../lambdas/adapters/kubernetes-cluster.js';
import { modelSamples, poolSamples } from '../lambdas/core/metrics/catalog.js';
import { parseQuantity } from '../lambdas/core/quantity.js';
import { startDynalite } from '../test/harness/dynalite.js';
import { createGpuNode } from '../test/harness/gpu-nodes.js';
import { startKubernetes } from '../test/harness/kubernetes.js';
import { startMoto } from '../test/harness/moto.js';
import { progress } from '../test/harness/processes.js';
import type { StartedService } from '../test/harness/service.js';
import { serveApiGateway } from '../test/support/api-gateway-server.js';
import { installDeploy } from '../test/support/kubectl.js';
import { prometheusText } from './prometheus-text.js';

/** Two pools of fake GPU nodes, as `examples/` expects: name, nodes, GPUs per node, memory per GPU, product. */
const POOLS = [
  { name: 'gpu-a100', nodes: 2, gpus: 4, gpuMemory: '80Gi', product: 'NVIDIA-A100-SXM4-80GB' },
  { name: 'default', nodes: 1, gpus: 4, gpuMemory: '24Gi', product: 'NVIDIA-L4' },
];
const API_PORT = Number(process.env.PORT ?? 8000);
const METRICS_PORT = 8080;
const RECONCILE_EVERY_MS = 10_000;
const TABLE = 'inference-budget-ledger';

const services: StartedService[] = [];
const runDir = await mkdtemp(join(tmpdir(), 'ibcp-local-'));
let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    progress('stopping');
    for (const service of services.reverse()) await service.stop().catch(() => undefined);
    await rm(runDir, { recursive: true, force: true });
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  progress(
    'starting dynalite (ledger), moto (EventBridge) and Kubernetes; the first start builds Kubernetes from source (about 25 min)',
  );
  services.push(...(await Promise.all([startDynalite(runDir), startMoto(runDir), startKubernetes(runDir)])));
  for (const service of services) Object.assign(process.env, service.env);
  const kubeconfig = process.env.IBCP_KUBECONFIG!;

  progress('installing deploy/ (CRD and RBAC)');
  await installDeploy();
  const dynamo = new DynamoDBClient({
    endpoint: process.env.IBCP_DYNALITE_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureLedgerTable(dynamo, TABLE);
  const ledger = new DynamoDbLedger(dynamo, TABLE);
  for (const pool of POOLS) {
    const bytesPerNode = pool.gpus * parseQuantity(pool.gpuMemory);
    await ledger.definePool({
      name: pool.name,
      totalBytes: pool.nodes * bytesPerNode,
      bytesPerNode,
      nodeGroup: pool.name,
    });
    for (let i = 0; i < pool.nodes; i++) {
      await createGpuNode(kubeconfig, {
        name: `${pool.name}-${i}`,
        pool: pool.name,
        gpus: pool.gpus,
        gpuMemoryGi: parseQuantity(pool.gpuMemory) / 2 ** 30,
        product: pool.product,
      });
    }
    progress(`pool ${pool.name}: ${pool.nodes} node(s) of ${pool.gpus} x ${pool.gpuMemory}`);
  }

  Object.assign(process.env, {
    LEDGER_TABLE: TABLE,
    DYNAMODB_ENDPOINT: process.env.IBCP_DYNALITE_ENDPOINT,
    KUBECONFIG: kubeconfig,
    AWS_ENDPOINT_URL_EVENTBRIDGE: process.env.IBCP_MOTO_ENDPOINT,
  });
  const context = {
    functionName: 'local',
    awsRequestId: 'local',
    getRemainingTimeInMillis: () => 30_000,
  } as Context;
  const warmUp = (await import('../lambdas/handlers/warmup-api.js')).handler as unknown as (
    event: APIGatewayProxyEvent,
    context: Context,
  ) => Promise<APIGatewayProxyResult>;
  const scheduled = (await import('../lambdas/handlers/reconcile-scheduled.js')).handler as unknown as (
    event: unknown,
    context: Context,
  ) => Promise<unknown>;

  const api = await serveApiGateway(warmUp, { port: API_PORT });
  const cluster = new KubernetesCluster(kubeConfigFromFile(kubeconfig));
  const metrics = createServer((request, response) => {
    if (request.url === '/healthz') return void response.writeHead(200).end('ok\n');
    if (request.url !== '/metrics') return void response.writeHead(404).end('not found\n');
    const now = Date.now();
    Promise.all([cluster.listModels(), cluster.listManagedDeployments(), ledger.listPools()])
      .then(([models, deployments, pools]) => {
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
        response.end(prometheusText([...modelSamples(models, deployments, now), ...poolSamples(pools, now)]));
      })
      .catch((error: unknown) => response.writeHead(500).end(`${String(error)}\n`));
  });
  await new Promise<void>((resolve) => metrics.listen(METRICS_PORT, '127.0.0.1', resolve));
  services.push({ name: 'servers', env: {}, stop: async () => (await api.close(), void metrics.close()) });

  const tick = () =>
    scheduled({}, context).catch((error: unknown) => progress(`reconcile pass failed: ${String(error)}`));
  await tick();
  setInterval(tick, RECONCILE_EVERY_MS).unref();

  console.log(`
The control plane is running. Ctrl-C stops everything it started.

  export KUBECONFIG=${kubeconfig}
  ${process.env.IBCP_KUBECTL} apply -f examples/original-operator/
  ${process.env.IBCP_KUBECTL} get inferencemodels

  curl -X POST ${api.url}/v1/models/default/llama-2-7b/warmup
  curl ${api.url}/v1/pools
  curl http://127.0.0.1:${METRICS_PORT}/metrics

The scheduled reconcile runs every ${RECONCILE_EVERY_MS / 1000} s.`);
  await new Promise(() => undefined);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await stop(1);
}
