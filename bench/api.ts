// `npm run bench:api`: server-side warm-up decision latency (the handler, as Lambda runs it) against
// the local services (kube-apiserver + KWOK, dynalite, moto), for a ready model, a cold model that
// fits, and a 429.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDbLedger, ensureLedgerTable } from '../lambdas/adapters/dynamodb-ledger.js';
import { kubeConfigFromFile } from '../lambdas/adapters/kube-config.js';
import { KubernetesCluster } from '../lambdas/adapters/kubernetes-cluster.js';
import { startDynalite } from '../test/harness/dynalite.js';
import { createGpuNode } from '../test/harness/gpu-nodes.js';
import { startKubernetes } from '../test/harness/kubernetes.js';
import { startMoto } from '../test/harness/moto.js';
import { progress, sleep } from '../test/harness/processes.js';
import type { StartedService } from '../test/harness/service.js';
import { installDeploy, kubectlOk } from '../test/support/kubectl.js';

const Gi = 2 ** 30;
const NAMESPACE = 'bench-api';
const ITERATIONS = { ready: 300, cold: 60, refused: 300 };
const context = {
  functionName: 'warmup-api',
  awsRequestId: 'bench',
  getRemainingTimeInMillis: () => 30_000,
} as Context;

const runDir = await mkdtemp(join(tmpdir(), 'ibcp-bench-api-'));
const services: StartedService[] = [];
try {
  services.push(await startDynalite(runDir), await startMoto(runDir), await startKubernetes(runDir));
  for (const service of services) Object.assign(process.env, service.env);
  const kubeconfig = process.env.IBCP_KUBECONFIG!;
  const client = new DynamoDBClient({
    endpoint: process.env.IBCP_DYNALITE_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await ensureLedgerTable(client, 'bench-api');
  const ledger = new DynamoDbLedger(client, 'bench-api');
  await ledger.definePool({ name: 'bench', totalBytes: 64 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'bench' });
  await installDeploy();
  await kubectlOk(['create', 'namespace', NAMESPACE]);
  await createGpuNode(kubeconfig, { name: 'bench-api-node', pool: 'bench', gpus: 8 });
  for (const [name, memory] of [
    ['warm', '32Gi'],
    ['cold', '32Gi'],
    ['huge', '48Gi'],
  ] as const) {
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'inference.eh-ops.io/v1alpha1',
        kind: 'InferenceModel',
        metadata: { name, namespace: NAMESPACE },
        spec: {
          modelName: name,
          memory,
          backendUrl: `http://${name}:8000`,
          nodeSelector: { 'inference-pool': 'bench' },
          containerImage: 'registry.example/vllm:1',
          resources: { limits: { gpu: 1 } },
        },
      }),
    );
  }
  Object.assign(process.env, {
    // Only the table on stdout: the handler's per-request INFO lines would bury it.
    POWERTOOLS_LOG_LEVEL: 'WARN',
    LEDGER_TABLE: 'bench-api',
    DYNAMODB_ENDPOINT: process.env.IBCP_DYNALITE_ENDPOINT,
    KUBECONFIG: kubeconfig,
    WATCH_NAMESPACE: NAMESPACE,
    AWS_ENDPOINT_URL_EVENTBRIDGE: process.env.IBCP_MOTO_ENDPOINT,
  });
  const { handler } = (await import('../lambdas/handlers/warmup-api.js')) as unknown as {
    handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  };
  const warmUp = async (name: string, expected: number): Promise<number> => {
    const event = {
      httpMethod: 'POST',
      path: `/v1/models/${NAMESPACE}/${name}/warmup`,
      queryStringParameters: null,
      body: null,
    };
    const started = performance.now();
    const response = await handler(event as unknown as APIGatewayProxyEvent, context);
    const ms = performance.now() - started;
    if (response.statusCode !== expected)
      throw new Error(`${name}: expected ${expected}, got ${response.statusCode} ${response.body}`);
    return ms;
  };

  progress('warming the ready model and waiting for it');
  await warmUp('warm', 202);
  while ((await warmUp('warm', 200).catch(() => undefined)) === undefined) await sleep(200);

  const cluster = new KubernetesCluster(kubeConfigFromFile(kubeconfig), { namespace: NAMESPACE });
  const rows: [string, number[]][] = [
    ['ready model (200)', []],
    ['cold model that fits (202)', []],
    ['pool full (429)', []],
  ];
  progress(`measuring ${ITERATIONS.ready} warm-ups of a ready model`);
  for (let i = 0; i < ITERATIONS.ready; i++) rows[0]![1].push(await warmUp('warm', 200));
  progress(`measuring ${ITERATIONS.cold} warm-ups of a cold model (scaled back down between them)`);
  const cold = (await cluster.getModel({ namespace: NAMESPACE, name: 'cold' }))!;
  for (let i = 0; i < ITERATIONS.cold; i++) {
    rows[1]![1].push(await warmUp('cold', 202));
    await cluster.scaleDeployment(cold, 0, Date.now());
    const held = (await ledger.readPool('bench')).allocations.find((a) => a.holder === `${NAMESPACE}/cold`);
    if (held) await ledger.release({ pool: 'bench', holder: `${NAMESPACE}/cold`, fence: held });
  }
  progress(`measuring ${ITERATIONS.refused} warm-ups that do not fit`);
  for (let i = 0; i < ITERATIONS.refused; i++) rows[2]![1].push(await warmUp('huge', 429));
  client.destroy();

  console.log('\nWarm-up decision latency, server-side (handler in-process, services on loopback)\n');
  console.log('| case | requests | p50 (ms) | p99 (ms) |');
  console.log('|---|---:|---:|---:|');
  for (const [label, samples] of rows) {
    samples.sort((a, b) => a - b);
    const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
    console.log(`| ${label} | ${samples.length} | ${at(0.5).toFixed(1)} | ${at(0.99).toFixed(1)} |`);
  }
} finally {
  for (const service of services.reverse()) await service.stop();
  await rm(runDir, { recursive: true, force: true });
}
