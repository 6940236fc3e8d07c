// `npm run bench:api`: server-side warm-up decision latency (the handler, as Lambda runs it) against
// the local services (kube-apiserver + KWOK, dynalite, moto), for a ready model, a cold model that
// fits, and a 429, each next to its floor measured in the same run on the same services: the calls
// the decision cannot do without, made one after the other with the raw clients (the AWS SDK's, and the
// Kubernetes adapters' transport, kubernetes-api.ts, without the adapters).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  DynamoDBClient,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDbLedger, ensureLedgerTable } from '../lambdas/adapters/dynamodb-ledger.js';
import { endpointFromFile } from '../services/kube-config.js';
import { DEPLOYMENTS, KubernetesApi, resourcePath } from '../lambdas/adapters/kubernetes-api.js';
import { INFERENCE_MODELS } from '../lambdas/adapters/kubernetes-cluster-mappers.js';
import { KubernetesCluster } from '../lambdas/adapters/kubernetes-cluster.js';
import { reconcileOne } from '../lambdas/core/reconcile/reconciler.js';
import { startDynalite } from '../services/dynalite.js';
import { createGpuNode } from '../services/gpu-nodes.js';
import { startKubernetes } from '../services/kubernetes.js';
import { startMoto } from '../services/moto.js';
import { progress, sleep } from '../services/processes.js';
import type { StartedService } from '../services/service.js';
import { installDeploy, kubectlOk } from '../services/kubectl.js';
import { createNodeGroup, motoClients, nodesJoin } from '../services/node-groups.js';
import { callLog } from './call-log.js';

const Gi = 2 ** 30;
const NAMESPACE = 'bench-api';
const ITERATIONS = { ready: 300, cold: 60, refused: 300 };
const TABLE = 'bench-api';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
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
  await ensureLedgerTable(client, TABLE);
  const ledger = new DynamoDbLedger(client, TABLE);
  await ledger.definePool({ name: 'bench', totalBytes: 64 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'bench' });
  await installDeploy();
  await kubectlOk(['create', 'namespace', NAMESPACE]);
  await createGpuNode(kubeconfig, { name: 'bench-api-node', pool: 'bench', gpus: 8 });
  // The pool with a node group (moto EKS + Auto Scaling, its one instance joined as a KWOK node): a
  // cold warm-up there also reads the node group's state to decide whether to scale it out.
  const nodeGroup = await createNodeGroup(motoClients(), {
    cluster: 'bench-api',
    nodeGroup: 'bench-pooled-ng',
    pool: 'bench-pooled',
    min: 0,
    max: 1,
    desired: 1,
  });
  await nodesJoin(motoClients(), nodeGroup);
  await ledger.definePool({
    name: 'bench-pooled',
    totalBytes: 80 * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: nodeGroup.nodeGroup,
  });
  for (const [name, memory, pool] of [
    ['warm', '32Gi', 'bench'],
    ['cold', '32Gi', 'bench'],
    ['huge', '48Gi', 'bench'],
    ['pooled', '32Gi', 'bench-pooled'],
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
          nodeSelector: { 'inference-pool': pool },
          containerImage: 'registry.example/vllm:1',
          resources: { limits: { gpu: 1 } },
        },
      }),
    );
  }
  Object.assign(process.env, {
    // Only the table on stdout: the handler's per-request INFO lines would bury it.
    POWERTOOLS_LOG_LEVEL: 'WARN',
    LEDGER_TABLE: TABLE,
    DYNAMODB_ENDPOINT: process.env.IBCP_DYNALITE_ENDPOINT,
    KUBECONFIG: kubeconfig,
    WATCH_NAMESPACE: NAMESPACE,
    AWS_ENDPOINT_URL_EVENTBRIDGE: process.env.IBCP_MOTO_ENDPOINT,
  });
  type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  const { handler } = (await import('../lambdas/handlers/warmup-api.js')) as unknown as { handler: Handler };
  // The same handler with the node pool configured: another module instance, wired from this environment.
  Object.assign(process.env, {
    NODE_POOLS: JSON.stringify([
      {
        name: 'bench-pooled',
        nodeGroup: nodeGroup.nodeGroup,
        gpuMemoryPerNode: '80Gi',
        minNodes: 0,
        maxNodes: 1,
      },
    ]),
    EKS_CLUSTER_NAME: nodeGroup.cluster,
    AWS_ENDPOINT_URL_EKS: process.env.IBCP_MOTO_ENDPOINT,
    AWS_ENDPOINT_URL_AUTO_SCALING: process.env.IBCP_MOTO_ENDPOINT,
  });
  const { handler: pooledHandler } = (await import(
    `${'../lambdas/handlers/warmup-api.js'}?node-pools`
  )) as unknown as {
    handler: Handler;
  };
  const calls = callLog({
    [process.env.IBCP_DYNALITE_ENDPOINT!]: 'DynamoDB',
    [process.env.IBCP_MOTO_ENDPOINT!]: 'moto',
    [process.env.IBCP_KUBE_SERVER!]: 'Kubernetes',
  });
  /** The calls of the last warm-up of each model. */
  const callsOf = new Map<string, string[]>();
  const warmUp = async (name: string, expected: number, call = handler): Promise<number> => {
    const event = {
      httpMethod: 'POST',
      path: `/v1/models/${NAMESPACE}/${name}/warmup`,
      queryStringParameters: null,
      body: null,
    };
    let response: APIGatewayProxyResult | undefined;
    const started = performance.now();
    const made = await calls.during(async () => {
      response = await call(event as unknown as APIGatewayProxyEvent, context);
    });
    const ms = performance.now() - started;
    callsOf.set(name, made);
    if (response!.statusCode !== expected)
      throw new Error(`${name}: expected ${expected}, got ${response!.statusCode} ${response!.body}`);
    return ms;
  };

  progress('warming the ready model and waiting for it');
  await warmUp('warm', 202);
  while ((await warmUp('warm', 200).catch(() => undefined)) === undefined) await sleep(200);
  // As after the scheduled pass that saw it Ready: the model's status says so, which the warm-up reads.
  await reconcileOne(
    {
      cluster: new KubernetesCluster(endpointFromFile(kubeconfig), { namespaces: [NAMESPACE] }),
      ledger,
      log: silent,
      clock: Date.now,
    },
    { namespace: NAMESPACE, name: 'warm' },
    { orphanGraceMs: 300_000, startDeadlineMs: 900_000 },
  );

  const endpoint = endpointFromFile(kubeconfig);
  const cluster = new KubernetesCluster(endpoint, { namespaces: [NAMESPACE] });
  // The transport the adapters use, without them: one request per call.
  const kubernetes = new KubernetesApi(endpoint);
  const events = new EventBridgeClient({
    endpoint: process.env.IBCP_MOTO_ENDPOINT,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const timed = async (work: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  const poolKey = { pk: { S: 'pool#bench' }, sk: { S: 'budget' } };
  // The raw calls the floors are made of.
  const readModel = (name: string) =>
    kubernetes.get(resourcePath(INFERENCE_MODELS, { namespace: NAMESPACE, name }));
  const writeActivity = (name: string) =>
    client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: poolKey.pk, sk: { S: `activity#${NAMESPACE}/${name}` } },
        UpdateExpression: 'SET lastActivity = :at',
        ConditionExpression: 'attribute_not_exists(lastActivity) OR lastActivity < :at',
        ExpressionAttributeValues: { ':at': { N: String(Date.now()) } },
      }),
    );
  const readDeployment = (name: string) =>
    kubernetes.get(resourcePath(DEPLOYMENTS, { namespace: NAMESPACE, name })).catch(() => undefined);
  const readPool = async () => {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': poolKey.pk },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  };
  const requestReconcile = (name: string) =>
    events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'default',
            Source: 'bench',
            DetailType: 'InferenceModel changed',
            Detail: JSON.stringify({ namespace: NAMESPACE, name }),
          },
        ],
      }),
    );
  /** Allocate (one conditional write on the pool item) and scale the Deployment up (one patch). */
  const allocateAndScale = async (before: () => Promise<unknown>, after: () => Promise<unknown>) => {
    const holder: Record<string, string> = { '#holder': `${NAMESPACE}/floor` };
    const ms = await timed(async () => {
      await before();
      await client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: poolKey,
          UpdateExpression:
            'SET allocations.#holder = :allocation ADD allocatedBytes :bytes, availableBytes :minusBytes',
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(allocations.#holder) AND availableBytes >= :bytes',
          ExpressionAttributeNames: holder,
          ExpressionAttributeValues: {
            ':allocation': { M: { bytes: { N: String(32 * Gi) }, since: { N: String(Date.now()) } } },
            ':bytes': { N: String(32 * Gi) },
            ':minusBytes': { N: String(-32 * Gi) },
          },
        }),
      );
      await scaleCold(1);
      await after();
    });
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: poolKey,
        UpdateExpression: 'REMOVE allocations.#holder ADD allocatedBytes :minusBytes, availableBytes :bytes',
        ExpressionAttributeNames: holder,
        ExpressionAttributeValues: {
          ':bytes': { N: String(32 * Gi) },
          ':minusBytes': { N: String(-32 * Gi) },
        },
      }),
    );
    await scaleCold(0);
    return ms;
  };
  const nothing = async () => undefined;
  const floors = {
    /** Record one activity (a conditional write) and read the Deployment's readiness (one GET). */
    ready: () =>
      timed(async () => {
        await writeActivity('warm');
        await readDeployment('warm');
      }),
    cold: () => allocateAndScale(nothing, nothing),
    /** Read the pool (its budget, allocations and activity: one Query) to name what blocks the model. */
    refused: () => timed(readPool),
  };
  /**
   * The floors with what the behaviour needs besides: the model read first (its pool, memory and
   * maxReplicas key every later call) and the activity write (every warm-up is a request for the idle
   * clock); a cold start reads the Deployment (absent, starting or Ready) and asks the reconciler to carry
   * on; a 429 names its blockers from the models and their Deployments (two lists, together).
   */
  const needed = {
    ready: () =>
      timed(async () => {
        await readModel('warm');
        await writeActivity('warm');
        await readDeployment('warm');
      }),
    cold: () =>
      allocateAndScale(
        async () => {
          await readModel('cold');
          await writeActivity('cold');
          await readDeployment('cold');
        },
        () => requestReconcile('cold'),
      ),
    refused: () =>
      timed(async () => {
        await readModel('huge');
        await writeActivity('huge');
        await readPool();
        await Promise.all([
          kubernetes.get(resourcePath(INFERENCE_MODELS, { namespace: NAMESPACE })),
          kubernetes.get(resourcePath(DEPLOYMENTS, { namespace: NAMESPACE })),
        ]);
      }),
  };
  const scaleCold = (replicas: number) =>
    kubernetes.patch(
      resourcePath(DEPLOYMENTS, { namespace: NAMESPACE, name: 'cold' }),
      { spec: { replicas } },
      'merge',
    );

  const samples = () => ({ handler: [] as number[], floor: [] as number[], needed: [] as number[] });
  const cases = [
    { label: 'ready model (200)', short: 'ready', ...samples() },
    { label: 'cold model that fits (202)', short: 'cold', ...samples() },
    { label: 'pool full (429)', short: '429', ...samples() },
    {
      label: 'cold model that fits, node pool configured (202)',
      short: 'cold with a node pool',
      ...samples(),
    },
  ];
  const [ready, cold, refused, pooled] = cases as [
    (typeof cases)[0],
    (typeof cases)[0],
    (typeof cases)[0],
    (typeof cases)[0],
  ];
  // Handler and floor alternate, so that what else runs on the machine weighs on both alike.
  progress(`measuring ${ITERATIONS.ready} warm-ups of a ready model and as many floors`);
  for (let i = 0; i < ITERATIONS.ready; i++) {
    ready.handler.push(await warmUp('warm', 200));
    ready.floor.push(await floors.ready());
    ready.needed.push(await needed.ready());
  }
  progress(`measuring ${ITERATIONS.cold} warm-ups of a cold model (scaled back down between them)`);
  // A cold model's Deployment exists from its first warm-up on; every later one scales it up.
  const measureCold = async (row: (typeof cases)[0], name: string, pool: string, call: Handler) => {
    const model = (await cluster.getModel({ namespace: NAMESPACE, name }))!;
    const scaleDown = async () => {
      await cluster.scaleDeployment(model, 0, Date.now());
      const held = (await ledger.readPool(pool)).allocations.find((a) => a.holder === `${NAMESPACE}/${name}`);
      if (held) await ledger.release({ pool, holder: `${NAMESPACE}/${name}`, fence: held });
    };
    await warmUp(name, 202, call);
    await scaleDown();
    for (let i = 0; i < ITERATIONS.cold; i++) {
      row.handler.push(await warmUp(name, 202, call));
      await scaleDown();
      row.floor.push(await floors.cold());
      row.needed.push(await needed.cold());
    }
  };
  await measureCold(cold, 'cold', 'bench', handler);
  progress(`measuring ${ITERATIONS.refused} warm-ups that do not fit`);
  for (let i = 0; i < ITERATIONS.refused; i++) {
    refused.handler.push(await warmUp('huge', 429));
    refused.floor.push(await floors.refused());
    refused.needed.push(await needed.refused());
  }
  progress(`measuring ${ITERATIONS.cold} warm-ups of a cold model in the pool with a node group`);
  await measureCold(pooled, 'pooled', 'bench-pooled', pooledHandler);
  client.destroy();
  events.destroy();
  calls.close();

  console.log(
    '\nCalls of one warm-up per case, in the order sent (Kubernetes resources without their namespace)\n',
  );
  const modelOf = ['warm', 'cold', 'huge', 'pooled'];
  cases.forEach(({ label }, i) => console.log(`- ${label}: ${callsOf.get(modelOf[i]!)!.join(', ')}`));

  console.log(
    "\nWarm-up decision latency, server-side (handler in-process, services on loopback); floor: the issue's calls for each case, raw clients (AWS SDK, kubernetes-api.ts), one after the other; each case's second row: its floor with what the behaviour needs besides\n",
  );
  console.log(
    '| case | requests | calls | p50 (ms) | p99 (ms) | floor p50 (ms) | floor p99 (ms) | ratio p50 | ratio p99 | floor calls |',
  );
  console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---|');
  const floorCalls = [
    'DynamoDB conditional write + Kubernetes GET',
    'DynamoDB conditional write + Deployment patch',
    'DynamoDB pool Query',
    'DynamoDB conditional write + Deployment patch',
  ];
  const neededCalls = [
    '+ the model GET before',
    '+ model GET, activity write, Deployment GET before; PutEvents after',
    '+ model GET, activity write before; the two lists after',
    "the cold case's (the node group's reads not included)",
  ];
  const summary: string[] = [];
  cases.forEach(({ label, short, handler, floor, needed }, i) => {
    const h = percentiles(handler);
    const row = (caseLabel: string, of: number[], floorLabel: string) => {
      const f = percentiles(of);
      console.log(
        `| ${caseLabel} | ${handler.length} | ${countCalls(callsOf.get(modelOf[i]!)!)} | ${h.p50.toFixed(1)} | ${h.p99.toFixed(1)} | ${f.p50.toFixed(1)} | ${f.p99.toFixed(1)} | ${(h.p50 / f.p50).toFixed(2)} | ${(h.p99 / f.p99).toFixed(2)} | ${floorLabel} |`,
      );
      return (h.p50 / f.p50).toFixed(2);
    };
    const ratio = row(label, floor, floorCalls[i]!);
    const neededRatio = row(`${label}, floor with what it needs`, needed, neededCalls[i]!);
    summary.push(`${short} ${ratio} (${neededRatio})`);
  });
  console.log(
    `\nSummary: p50 / floor p50 (in brackets: / the floor with what the behaviour needs): ${summary.join(', ')} (goal: at most 1.5)`,
  );
} finally {
  for (const service of services.reverse()) await service.stop();
  await rm(runDir, { recursive: true, force: true });
}

/** `2 DynamoDB + 1 Kubernetes`. */
function countCalls(calls: string[]): string {
  const counts = new Map<string, number>();
  for (const call of calls) counts.set(call.split(' ')[0]!, (counts.get(call.split(' ')[0]!) ?? 0) + 1);
  return [...counts].map(([system, n]) => `${n} ${system}`).join(' + ');
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}
