// Node pools as the Lambdas run them, configured from NODE_POOLS only: the scheduled pass defines the
// budgets and scales the node groups, the warm-up API scales out at once and says the model waits for a
// node. moto plays EKS and Auto Scaling, KWOK the GPU nodes, dynalite the ledger.
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { RuntimeConfig } from '../../../lambdas/config.js';
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { createReconcileModelHandler } from '../../../lambdas/handlers/reconcile-model.js';
import { createScheduledReconcileHandler } from '../../../lambdas/handlers/reconcile-scheduled.js';
import { createWarmUpApiHandler } from '../../../lambdas/handlers/warmup-api.js';
import { harnessEnv } from '../../../services/service.js';
import { jsonLinesPrinted } from '../../support/captured-output.js';
import { applyInferenceModel, kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import { harnessConfig, lambdaContext } from '../../support/lambda-environment.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { Gi } from '../../support/builders.js';
import {
  createNodeGroup,
  describeGroup,
  nodesJoin,
  type TestNodeGroup,
} from '../../../services/node-groups.js';

const fixture = new IntegrationFixture('node-pools');
const { namespace } = fixture;
const pool = uniqueName('pool-gpu');
/** A second pool, for models applied with replicas (reconciled by the event-driven Lambda). */
const appliedPool = uniqueName('pool-applied');
const cluster = uniqueName('cluster');
const clients = fixture.nodeGroupClients;
let ledger: DynamoDbLedger;
let group: TestNodeGroup;
let appliedGroup: TestNodeGroup;
/** Each Lambda's settings, signing in as its own group; set in beforeAll. */
let reconcileSettings: RuntimeConfig;
let warmUpSettings: RuntimeConfig;
// One handler of each, as one warm Lambda of each serves every event below.
const warmUpApi = createWarmUpApiHandler(() => warmUpSettings);
const scheduled = createScheduledReconcileHandler(() => reconcileSettings);
const reconcileModel = createReconcileModelHandler(() => reconcileSettings);

async function call(method: string, path: string) {
  const event = { httpMethod: method, path, queryStringParameters: null, body: null, isBase64Encoded: false };
  const response = await warmUpApi(event as unknown as APIGatewayProxyEvent, lambdaContext('warmup-api'));
  return { status: response.statusCode, headers: response.headers ?? {}, body: JSON.parse(response.body) };
}

/** One scheduled pass; the JSON lines it printed (logs and EMF). */
async function scheduledPass(): Promise<Record<string, unknown>[]> {
  return jsonLinesPrinted(() => scheduled({}, lambdaContext('reconcile-scheduled')));
}

async function promql(expr: string): Promise<number[]> {
  const url = new URL(`${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/query`);
  url.searchParams.set('query', expr);
  const body = (await (await fetch(url)).json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.map((r) => Number(r.value[1]));
}

const warmUp = (name: string) => call('POST', `/v1/models/${namespace}/${name}/warmup`);

beforeAll(async () => {
  const fresh = await fixture.setUp();
  ledger = fresh.ledger;
  for (const p of [pool, appliedPool]) fixture.deletesNodesOf(p);
  group = await createNodeGroup(clients, {
    cluster,
    nodeGroup: `${pool}-ng`,
    pool,
    min: 0,
    max: 2,
    desired: 0,
  });
  appliedGroup = await createNodeGroup(clients, {
    cluster,
    nodeGroup: `${appliedPool}-ng`,
    pool: appliedPool,
    min: 0,
    max: 1,
    desired: 0,
  });
  const environment = {
    NODE_POOLS: JSON.stringify([
      { name: pool, nodeGroup: group.nodeGroup, gpuMemoryPerNode: '80Gi', minNodes: 0, maxNodes: 2 },
      {
        name: appliedPool,
        nodeGroup: appliedGroup.nodeGroup,
        gpuMemoryPerNode: '80Gi',
        minNodes: 0,
        maxNodes: 1,
      },
    ]),
    EKS_CLUSTER_NAME: cluster,
    AMP_REMOTE_WRITE_URL: `${harnessEnv('IBCP_PROMETHEUS_URL')}/api/v1/write`,
    CONTROL_PLANE_NAME: uniqueName('cp'),
  };
  // Each Lambda signs in as its own group (deploy/rbac/), as its EKS access entry maps it.
  reconcileSettings = harnessConfig(fresh.table, namespace, {
    ...environment,
    KUBECONFIG: (await identityOf('reconcile')).kubeconfig,
  });
  warmUpSettings = harnessConfig(fresh.table, namespace, {
    ...environment,
    KUBECONFIG: (await identityOf('warmUp')).kubeconfig,
  });
});

afterAll(() => fixture.tearDown());

describe('node pools through the Lambda handlers', () => {
  it('the scheduled pass defines the budget from NODE_POOLS and reports the empty node group', async () => {
    const lines = await scheduledPass();
    expect(await ledger.readPool(pool)).toMatchObject({
      totalBytes: 160 * Gi,
      bytesPerNode: 80 * Gi,
      nodeGroup: group.nodeGroup,
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ node_pool: pool, DesiredNodes: 0, ReadyNodes: 0, NeededNodes: 0 }),
    );
    expect(await promql(`inference_node_pool_desired_nodes{node_pool="${pool}"}`)).toEqual([0]);
  });

  it('a warm-up with no node for it: 202, the node group scales out, and the answer says it waits for a node', async () => {
    await applyInferenceModel({ namespace, name: 'llama-2-70b' }, { memory: '48Gi', pool, maxReplicas: 1 });
    const answer = await warmUp('llama-2-70b');
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({
      name: 'llama-2-70b',
      waitingForNode: { nodeGroup: group.nodeGroup, readyNodes: 0, desiredNodes: 1 },
    });
    expect((await describeGroup(clients, group)).nodeGroupDesired).toBe(1);

    const pools = await call('GET', '/v1/pools');
    expect(pools.body.pools).toContainEqual(
      expect.objectContaining({
        name: pool,
        total: '160Gi',
        available: '112Gi',
        availableAfterScaleOut: '112Gi',
        availableOnRunningNodes: '0',
        nodes: { nodeGroup: group.nodeGroup, ready: 0, desired: 1, needed: 1 },
      }),
    );
  });

  it('once the node is Ready, the pass reports the scale-out latency and the model runs there', async () => {
    const [node] = await nodesJoin(clients, group);
    await kubectlOk(['rollout', 'status', `deployment/llama-2-70b`, '-n', namespace, '--timeout=60s']);
    const lines = await scheduledPass();
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'Node scale-out completed', nodePool: pool, nodes: 1 }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ node_pool: pool, ReadyNodes: 1, NodeScaleOutSeconds: expect.any(Number) }),
    );
    expect(await promql(`inference_node_scale_out_seconds_count{node_pool="${pool}"}`)).toEqual([1]);
    expect(await promql(`inference_budget_available_on_running_nodes_bytes{node_pool="${pool}"}`)).toEqual([
      32 * Gi,
    ]);
    const pods = await kubectlOk([
      'get',
      'pods',
      '-n',
      namespace,
      '-o',
      'jsonpath={.items[*].spec.nodeName}',
    ]);
    expect(pods).toBe(node);
  });

  it('a model that does not fit the running node but fits after scale-out waits for a node, not a 429', async () => {
    await applyInferenceModel({ namespace, name: 'mixtral-8x7b' }, { memory: '48Gi', pool, maxReplicas: 1 });
    const answer = await warmUp('mixtral-8x7b');
    expect(answer.status).toBe(202);
    expect(answer.body.waitingForNode).toEqual({
      nodeGroup: group.nodeGroup,
      readyNodes: 1,
      desiredNodes: 2,
    });
    expect((await describeGroup(clients, group)).nodeGroupDesired).toBe(2);
  });

  it('a model larger than what is left after scale-out: 429 with the budget left at the maximum size', async () => {
    await applyInferenceModel({ namespace, name: 'falcon-180b' }, { memory: '80Gi', pool, maxReplicas: 1 });
    const refused = await warmUp('falcon-180b');
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({
      requested: { model: 'falcon-180b', memory: '80Gi' },
      available: '64Gi',
    });
    // The refused model asked for no node.
    expect((await describeGroup(clients, group)).nodeGroupDesired).toBe(2);
  });

  it('a model applied with replicas: the event-driven reconcile allocates and scales the node group out at once', async () => {
    await applyInferenceModel(
      { namespace, name: 'qwen-72b' },
      { memory: '72Gi', pool: appliedPool, maxReplicas: 1 },
    );
    const event = { 'detail-type': 'InferenceModel changed', detail: { namespace, name: 'qwen-72b' } };
    const lines = await jsonLinesPrinted(() =>
      reconcileModel(event as never, lambdaContext('reconcile-model')),
    );
    expect((await ledger.readPool(appliedPool)).allocatedBytes).toBe(72 * Gi);
    expect(lines).toContainEqual(
      expect.objectContaining({ message: 'Node scale-out requested', nodePool: appliedPool, from: 0, to: 1 }),
    );
    expect((await describeGroup(clients, appliedGroup)).nodeGroupDesired).toBe(1);
  });
});
