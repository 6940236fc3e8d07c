// `npm run bench:reconcile`: one scheduled pass over 1,000 InferenceModels in 10 pools on the local
// control plane (kube-apiserver + KWOK GPU nodes, dynalite): wall time, Kubernetes API calls, DynamoDB
// calls and the peak heap, for the first pass, a pass with nothing to change and one where 10% of the
// models changed. Then 10,000 more models, at zero replicas (2 cores cannot run 10,000 KWOK pods; a
// no-change pass reads a Deployment the same way whatever its replicas), in their own namespace, to
// show what a no-change pass costs at that scale. The floor of a no-change pass, measured in the same
// run: the reads it cannot do without (both lists and every pool), with the raw clients (the AWS SDK, and
// the Kubernetes adapters' transport without the adapters). Models are created
// as the mutating webhook admits them, with the finalizer (docs/webhook.md).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../lambdas/adapters/dynamodb-ledger.js';
import { endpointFromFile } from '../services/kube-config.js';
import { DEPLOYMENTS, KubernetesApi, resourcePath } from '../lambdas/adapters/kubernetes-api.js';
import { INFERENCE_MODELS } from '../lambdas/adapters/kubernetes-cluster-mappers.js';
import { KubernetesCluster } from '../lambdas/adapters/kubernetes-cluster.js';
import { FINALIZER } from '../lambdas/core/inference-model.js';
import { type ReconcilePorts } from '../lambdas/core/reconcile/ports.js';
import { reconcileAll } from '../lambdas/core/reconcile/reconciler.js';
import { startDynalite } from '../services/dynalite.js';
import { createGpuNode } from '../services/gpu-nodes.js';
import { startKubernetes } from '../services/kubernetes.js';
import { progress, sleep } from '../services/processes.js';
import type { StartedService } from '../services/service.js';
import { installDeploy, kubectlOk } from '../services/kubectl.js';

const Gi = 2 ** 30;
const POOLS = 10;
const MODELS_PER_POOL = 100;
const NAMESPACE = 'bench';
const LARGE_NAMESPACE = 'bench-large';
const LARGE_MODELS = 10_000;
const CREATES_IN_FLIGHT = 16;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Row {
  pass: string;
  seconds: number;
  kubernetesCalls: number;
  dynamoDbCalls: number;
  peakHeapMiB: number;
  /** Wall time of the same run's floor, for the passes with nothing to change. */
  floorSeconds?: number;
}

const runDir = await mkdtemp(join(tmpdir(), 'ibcp-bench-reconcile-'));
const services: StartedService[] = [];
try {
  services.push(await startDynalite(runDir), await startKubernetes(runDir));
  for (const service of services) Object.assign(process.env, service.env);
  const kubeconfig = process.env.IBCP_KUBECONFIG!;

  let dynamoDbCalls = 0;
  const client = new DynamoDBClient({
    endpoint: process.env.IBCP_DYNALITE_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  client.middlewareStack.add((next) => (args) => (dynamoDbCalls++, next(args)), { step: 'initialize' });
  await ensureLedgerTable(client, 'bench-ledger');
  const ledger = new DynamoDbLedger(client, 'bench-ledger');
  const endpoint = endpointFromFile(kubeconfig);
  const cluster = new KubernetesCluster(endpoint, { namespaces: [NAMESPACE] });
  const ports: ReconcilePorts = { cluster, ledger, log: silent, clock: Date.now };

  progress(`creating ${POOLS} pools with KWOK GPU nodes and ${POOLS * MODELS_PER_POOL} InferenceModels`);
  await installDeploy();
  await kubectlOk(['create', 'namespace', NAMESPACE]);
  const models = [];
  for (let p = 0; p < POOLS; p++) {
    const pool = `bench-pool-${p}`;
    await ledger.definePool({
      name: pool,
      totalBytes: MODELS_PER_POOL * 16 * Gi,
      bytesPerNode: 640 * Gi,
      nodeGroup: pool,
    });
    for (let n = 0; n < 2; n++) {
      await createGpuNode(kubeconfig, { name: `${pool}-node-${n}`, pool, gpus: 64, pods: 110 });
    }
    for (let m = 0; m < MODELS_PER_POOL; m++) models.push(inferenceModel(NAMESPACE, `model-${p}-${m}`, pool));
  }
  await kubectlOk(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: models }));

  const measure = async (label: string, on = ports): Promise<Row> => {
    const counted = on.cluster as KubernetesCluster;
    const [k8sBefore, dynamoBefore] = [counted.apiCalls, dynamoDbCalls];
    const peak = heapPeak();
    const started = performance.now();
    const report = await reconcileAll(on, { orphanGraceMs: 300_000, startDeadlineMs: 900_000 });
    const seconds = (performance.now() - started) / 1000;
    if (report.errors.length > 0)
      throw new Error(`pass had errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
    return {
      pass: label,
      seconds,
      kubernetesCalls: counted.apiCalls - k8sBefore,
      dynamoDbCalls: dynamoDbCalls - dynamoBefore,
      peakHeapMiB: peak.stop(),
    };
  };
  const kubernetes = new KubernetesApi(endpoint);
  /** What a pass with nothing to change must read: both lists and each pool's items, raw, nothing else. */
  const floor = async (namespace = NAMESPACE, table = 'bench-ledger'): Promise<number> => {
    const started = performance.now();
    await Promise.all([
      kubernetes.get(resourcePath(INFERENCE_MODELS, { namespace })),
      kubernetes.get(resourcePath(DEPLOYMENTS, { namespace })),
      (async () => {
        const { Items = [] } = await client.send(
          new ScanCommand({
            TableName: table,
            FilterExpression: 'sk = :budget',
            ExpressionAttributeValues: { ':budget': { S: 'budget' } },
          }),
        );
        await Promise.all(
          Items.map((item) =>
            client.send(
              new QueryCommand({
                TableName: table,
                KeyConditionExpression: 'pk = :pk',
                ExpressionAttributeValues: { ':pk': item.pk! },
                ConsistentRead: true,
              }),
            ),
          ),
        );
      })(),
    ]);
    return (performance.now() - started) / 1000;
  };
  const withFloor = async (label: string, on = ports, namespace?: string, table?: string): Promise<Row> => {
    const row = await measure(label, on);
    return { ...row, floorSeconds: await floor(namespace, table) };
  };

  const rows: Row[] = [];
  progress('first pass: finalizers, allocations, Deployments, status');
  rows.push(await measure('first pass (1,000 new models)'));
  progress('waiting for 1,000 pods to be Ready on the KWOK nodes');
  for (;;) {
    const ready = (await cluster.listManagedDeployments()).filter((d) => d.readyReplicas > 0).length;
    if (ready === POOLS * MODELS_PER_POOL) break;
    await sleep(2_000);
  }
  rows.push(await measure('pass after pods became Ready'));
  rows.push(await withFloor('no-change pass'));
  rows.push(await withFloor('no-change pass (again)'));

  progress('changing spec.memory of 10% of the models (8Gi -> 10Gi)');
  for (let i = 0; i < POOLS * MODELS_PER_POOL; i += 10) {
    const name = `model-${Math.floor(i / MODELS_PER_POOL)}-${i % MODELS_PER_POOL}`;
    await kubectlOk([
      'patch',
      'inferencemodel',
      name,
      '-n',
      NAMESPACE,
      '--type',
      'merge',
      '-p',
      '{"spec":{"memory":"10Gi"}}',
    ]);
  }
  rows.push(await measure('10% changed (resized)'));
  rows.push(await withFloor('no-change pass after the resize'));

  progress(
    `creating ${LARGE_MODELS} InferenceModels at zero replicas in ${POOLS} pools (${LARGE_NAMESPACE})`,
  );
  await kubectlOk(['create', 'namespace', LARGE_NAMESPACE]);
  await ensureLedgerTable(client, 'bench-ledger-large');
  const largeLedger = new DynamoDbLedger(client, 'bench-ledger-large');
  const large: ReconcilePorts = {
    ...ports,
    cluster: new KubernetesCluster(endpoint, { namespaces: [LARGE_NAMESPACE] }),
    ledger: largeLedger,
  };
  for (let p = 0; p < POOLS; p++) {
    await largeLedger.definePool({
      name: `bench-pool-${p}`,
      totalBytes: MODELS_PER_POOL * 16 * Gi,
      bytesPerNode: 640 * Gi,
      nodeGroup: `bench-pool-${p}`,
    });
  }
  let created = 0;
  await Promise.all(
    Array.from({ length: CREATES_IN_FLIGHT }, async () => {
      for (let i = created++; i < LARGE_MODELS; i = created++) {
        const body = inferenceModel(LARGE_NAMESPACE, `large-${i}`, `bench-pool-${i % POOLS}`, 0);
        await kubernetes.create(resourcePath(INFERENCE_MODELS, { namespace: LARGE_NAMESPACE }), body);
      }
    }),
  );
  rows.push(
    await measure(`first pass (${LARGE_MODELS.toLocaleString('en')} new models, zero replicas)`, large),
  );
  rows.push(
    await withFloor(
      `no-change pass, ${LARGE_MODELS.toLocaleString('en')} models`,
      large,
      LARGE_NAMESPACE,
      'bench-ledger-large',
    ),
  );
  rows.push(
    await withFloor(
      `no-change pass, ${LARGE_MODELS.toLocaleString('en')} models (again)`,
      large,
      LARGE_NAMESPACE,
      'bench-ledger-large',
    ),
  );
  client.destroy();

  const count = POOLS * MODELS_PER_POOL;
  console.log(
    `\nReconcile pass over ${count} InferenceModels in ${POOLS} pools, then ${LARGE_MODELS} at zero replicas; floor of a no-change pass: both lists and every pool, raw clients (AWS SDK, kubernetes-api.ts)\n`,
  );
  console.log(
    '| pass | wall time (s) | Kubernetes API calls | DynamoDB calls | peak heap (MiB) | floor (s) | ratio |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const floorCells = r.floorSeconds
      ? `${r.floorSeconds.toFixed(2)} | ${(r.seconds / r.floorSeconds).toFixed(1)}`
      : '- | -';
    console.log(
      `| ${r.pass} | ${r.seconds.toFixed(2)} | ${r.kubernetesCalls} | ${r.dynamoDbCalls} | ${r.peakHeapMiB.toFixed(0)} | ${floorCells} |`,
    );
  }
  const noChange = rows.filter((r) => r.floorSeconds);
  const first = rows[0]!;
  const largest = rows.filter((r) => r.pass.startsWith('no-change pass, '));
  console.log(
    `\nSummary: no-change pass / floor: ${noChange.map((r) => (r.seconds / r.floorSeconds!).toFixed(1)).join(', ')}; ${LARGE_MODELS} models, no change: ${largest.map((r) => `${r.seconds.toFixed(2)} s with ${r.kubernetesCalls} Kubernetes calls`).join(', ')} (goal: under 3 s); first pass: ${((first.kubernetesCalls - 2) / count).toFixed(2)} Kubernetes calls per new model, the two lists aside (goal: at most 4); peak heap ${Math.max(...rows.map((r) => r.peakHeapMiB)).toFixed(0)} MiB`,
  );
} finally {
  for (const service of services.reverse()) await service.stop();
  await rm(runDir, { recursive: true, force: true });
}

/** An InferenceModel as the mutating webhook admits it (with the finalizer). */
function inferenceModel(namespace: string, name: string, pool: string, maxReplicas = 1) {
  return {
    apiVersion: 'inference.eh-ops.io/v1alpha1',
    kind: 'InferenceModel',
    metadata: { name, namespace, finalizers: [FINALIZER] },
    spec: {
      modelName: name,
      memory: '8Gi',
      backendUrl: `http://${name}:8000`,
      nodeSelector: { 'inference-pool': pool },
      cooldownPeriod: '24h',
      containerImage: 'registry.example/vllm:1',
      resources: { limits: { gpu: 1 } },
      maxReplicas,
    },
  };
}

/** The largest heap in use while a pass runs, sampled every 20 ms (the pass's own allocations show). */
function heapPeak(): { stop(): number } {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().heapUsed) / 2 ** 20;
    },
  };
}
