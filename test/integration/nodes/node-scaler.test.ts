// The node scaler on the real things: EKS node groups and a real Auto Scaling group on moto, KWOK GPU
// nodes in the real kube-apiserver, the ledger and the scale-out record on dynalite. The clock is the
// test's, so a 10-minute stabilisation window passes without waiting for it.
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { DynamoDbScaleOutRecords } from '../../../lambdas/adapters/dynamodb-scale-outs.js';
import { EksNodeGroups } from '../../../lambdas/adapters/eks-node-groups.js';
import {
  EMPTY_SINCE_ANNOTATION,
  KubernetesPoolNodes,
  SCALE_IN_ANNOTATION,
} from '../../../lambdas/adapters/kubernetes-pool-nodes.js';
import { endpointFromFile } from '../../../services/kube-config.js';
import { DEFAULT_STABILISATION_MS, type NodeScalingPorts } from '../../../lambdas/core/nodes/ports.js';
import type { NodePoolConfig } from '../../../lambdas/core/nodes/node-pools.js';
import { definePools, ensureNodeCapacity, scaleNodePools } from '../../../lambdas/core/nodes/scaler.js';
import { harnessEnv } from '../../../services/service.js';
import { RecordingLog } from '../../support/fake-cluster.js';
import { kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { Gi } from '../../support/builders.js';
import {
  coreApi,
  createNodeGroup,
  describeGroup,
  nodesJoin,
  type TestNodeGroup,
} from '../../../services/node-groups.js';

const minute = 60_000;
const cluster = uniqueName('cluster');
const fixture = new IntegrationFixture('nodes');
const { namespace, client } = fixture;
const clients = fixture.nodeGroupClients;
const kubeconfig = harnessEnv('IBCP_KUBECONFIG');
const core = coreApi();

let ledger: DynamoDbLedger;
let table: string;

beforeAll(async () => {
  ({ ledger, table } = await fixture.setUp());
});

afterAll(() => fixture.tearDown());

/** A pool of 80Gi nodes on a node group of its own, with the scaler's ports on the real adapters. */
async function poolWith(bounds: { min: number; max: number; desired: number }) {
  const pool = uniqueName('pool-n');
  fixture.deletesNodesOf(pool);
  const config: NodePoolConfig = {
    name: pool,
    nodeGroup: `${pool}-ng`,
    bytesPerNode: 80 * Gi,
    minNodes: bounds.min,
    maxNodes: bounds.max,
  };
  const group = await createNodeGroup(clients, { cluster, nodeGroup: config.nodeGroup, pool, ...bounds });
  const log = new RecordingLog();
  const clock = { now: Date.now() };
  const ports: NodeScalingPorts = {
    pools: [config],
    groups: new EksNodeGroups(clients.eks, clients.autoScaling, cluster),
    nodes: new KubernetesPoolNodes(endpointFromFile(kubeconfig)),
    scaleOuts: new DynamoDbScaleOutRecords(client, table),
    log,
    clock: () => clock.now,
    stabilisationMs: DEFAULT_STABILISATION_MS,
  };
  await definePools(ledger, [config], log);
  const pass = async () => scaleNodePools(ports, [await ledger.readPool(pool)]);
  return { pool, config, group, log, clock, ports, pass };
}

const holder = (name: string) => `${namespace}/${name}`;

/** A running pod of a managed (budgeted) Deployment, bound to the node as the scheduler would. */
async function runModelPod(name: string, node: string): Promise<void> {
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        labels: { 'inference.eh-ops.io/managed': 'true', 'inference.eh-ops.io/model': name },
      },
      spec: { nodeName: node, containers: [{ name: 'inference-server', image: 'registry.example/vllm:1' }] },
    }),
  );
}

async function stopModelPod(name: string): Promise<void> {
  await kubectlOk(['delete', 'pod', name, '-n', namespace, '--wait=true', '--timeout=60s']);
}

async function nodeState(name: string) {
  const node = await core.readNode({ name });
  const annotations = node.metadata?.annotations ?? {};
  return {
    unschedulable: node.spec?.unschedulable ?? false,
    emptySince: annotations[EMPTY_SINCE_ANNOTATION],
    scaleInAt: annotations[SCALE_IN_ANNOTATION],
  };
}

async function instances(group: TestNodeGroup): Promise<string[]> {
  const { asg } = await describeGroup(clients, group);
  return (asg.Instances ?? []).map((i) => i.InstanceId!).sort();
}

/** The fields of each log line with this message, as the JSON log line would carry them. */
const messages = (log: RecordingLog, message: string) =>
  log.lines.filter((l) => l.message === message).map((l) => l.fields);

describe('node pools on EKS node groups, Auto Scaling and Kubernetes nodes', () => {
  it('defines the pool budget as maxNodes x GPU memory per node', async () => {
    const { pool } = await poolWith({ min: 0, max: 3, desired: 0 });
    expect(await ledger.readPool(pool)).toMatchObject({ totalBytes: 240 * Gi, bytesPerNode: 80 * Gi });
  });

  it('scales out at once when an allocation needs a node, once, and measures the scale-out', async () => {
    const { pool, group, ports, log, clock, pass } = await poolWith({ min: 0, max: 3, desired: 0 });
    const allocated = await ledger.allocate({
      pool,
      holder: holder('llama-70b'),
      bytes: 48 * Gi,
      now: clock.now,
    });
    expect(allocated.outcome).toBe('allocated');

    const capacity = await ensureNodeCapacity(ports, allocated.pool);
    expect(capacity).toMatchObject({ readyNodes: 0, desiredNodes: 1, neededNodes: 1, waitingForNode: true });
    expect((await describeGroup(clients, group)).nodeGroupDesired).toBe(1);
    // A second warm-up before the node is there asks for nothing more.
    await ensureNodeCapacity(ports, await ledger.readPool(pool));
    expect(messages(log, 'Node scale-out requested')).toHaveLength(1);

    const [node] = await nodesJoin(clients, group);
    clock.now += 3 * minute;
    const [report] = await pass();
    expect(report).toMatchObject({
      pool,
      readyNodes: 1,
      desiredNodes: 1,
      neededNodes: 1,
      scaleOutSeconds: 180,
    });
    expect(messages(log, 'Node scale-out completed')).toEqual([
      expect.objectContaining({ nodePool: pool, nodes: 1, seconds: 180 }),
    ]);
    expect(await instances(group)).toHaveLength(1);
    expect(node).toBeDefined();
  });

  it('never scales in a node that runs a model, however long it runs', async () => {
    const { pool, group, clock, pass, log } = await poolWith({ min: 0, max: 3, desired: 1 });
    const [node] = await nodesJoin(clients, group);
    await runModelPod(`${pool}-m`, node!);
    // The model holds no allocation here (say it was adopted late): the running pod alone keeps the node.
    for (const hours of [0, 1, 2]) {
      clock.now += hours * 60 * minute;
      const [report] = await pass();
      expect(report).toMatchObject({ scaledIn: 0, readyNodes: 1 });
    }
    expect(await nodeState(node!)).toEqual({
      unschedulable: false,
      emptySince: undefined,
      scaleInAt: undefined,
    });
    expect(await instances(group)).toHaveLength(1);
    expect(messages(log, 'Node scaled in')).toEqual([]);
    await stopModelPod(`${pool}-m`);
  });

  it('scales in the empty node after the stabilisation window: cordon, then terminate that instance', async () => {
    const { group, clock, pass, log } = await poolWith({ min: 0, max: 3, desired: 2 });
    const nodes = await nodesJoin(clients, group);
    expect(nodes).toHaveLength(2);
    const [busy, idle] = nodes as [string, string];
    await runModelPod(`${group.pool}-busy`, busy);
    const busyInstance = (await core.readNode({ name: busy })).spec!.providerID!.split('/').pop()!;
    const idleInstance = (await core.readNode({ name: idle })).spec!.providerID!.split('/').pop()!;
    await ledger.allocate({ pool: group.pool, holder: holder('busy'), bytes: 40 * Gi, now: clock.now });

    await pass();
    expect((await nodeState(idle)).emptySince).toBe(new Date(clock.now).toISOString());
    clock.now += 9 * minute;
    expect((await pass())[0]).toMatchObject({ scaledIn: 0 });
    expect(messages(log, 'Node scale-in decision').at(-1)).toMatchObject({
      node: idle,
      decision: 'keep',
      reason: 'empty for 9m0s, within the 10m0s window',
    });

    clock.now += 2 * minute;
    const [report] = await pass();
    expect(report).toMatchObject({ scaledIn: 1, desiredNodes: 1 });
    expect(await nodeState(idle)).toMatchObject({ unschedulable: true, scaleInAt: expect.any(String) });
    expect(await instances(group)).toEqual([busyInstance]);
    const { asg } = await describeGroup(clients, group);
    expect(asg.DesiredCapacity).toBe(1);
    expect(messages(log, 'Node scaled in')).toEqual([
      expect.objectContaining({
        nodePool: group.pool,
        node: idle,
        instanceId: idleInstance,
        reason: 'no budgeted workload for 11m0s',
      }),
    ]);
    // The terminated node lingers until the cloud controller deletes it; nothing more happens to it.
    clock.now += 20 * minute;
    expect((await pass())[0]).toMatchObject({ scaledIn: 0, readyNodes: 1, desiredNodes: 1 });
    await stopModelPod(`${group.pool}-busy`);
  });

  it('prevents flapping: a model landing within the window restarts it', async () => {
    const { group, clock, pass } = await poolWith({ min: 0, max: 3, desired: 1 });
    const [node] = (await nodesJoin(clients, group)) as [string];
    await pass();
    const firstMark = (await nodeState(node)).emptySince;
    expect(firstMark).toBeDefined();

    clock.now += 6 * minute;
    await runModelPod(`${group.pool}-back`, node);
    await pass();
    expect((await nodeState(node)).emptySince).toBeUndefined();

    clock.now += minute;
    await stopModelPod(`${group.pool}-back`);
    await pass();
    const secondMark = (await nodeState(node)).emptySince;
    expect(secondMark).toBe(new Date(clock.now).toISOString());

    // 11 minutes after the first mark, only 5 after the second: still kept.
    clock.now += 5 * minute;
    expect((await pass())[0]).toMatchObject({ scaledIn: 0 });
    expect(await instances(group)).toHaveLength(1);
    clock.now += 6 * minute;
    expect((await pass())[0]).toMatchObject({ scaledIn: 1 });
  });

  it("respects the node group's minimum: its last empty node stays", async () => {
    const { group, clock, pass, log } = await poolWith({ min: 1, max: 3, desired: 1 });
    const [node] = (await nodesJoin(clients, group)) as [string];
    await pass();
    clock.now += 30 * minute;
    expect((await pass())[0]).toMatchObject({ scaledIn: 0, desiredNodes: 1 });
    expect(messages(log, 'Node scale-in decision').at(-1)).toMatchObject({
      node,
      decision: 'keep',
      reason: "empty for 30m0s, but the node group's minimum is 1",
    });
    expect(await nodeState(node)).toMatchObject({ unschedulable: false });
  });

  it("respects the node group's maximum: asks for no more nodes than it may have", async () => {
    const { pool, group, ports, clock, log, pass } = await poolWith({ min: 0, max: 3, desired: 0 });
    // Four 48Gi models fit the budget (240Gi) but not three 80Gi nodes, one model per node.
    for (const name of ['a', 'b', 'c']) {
      await ledger.allocate({ pool, holder: holder(name), bytes: 48 * Gi, now: clock.now });
    }
    const capacity = await ensureNodeCapacity(ports, await ledger.readPool(pool));
    expect(capacity).toMatchObject({ desiredNodes: 3, neededNodes: 3 });
    const fourth = await ledger.allocate({ pool, holder: holder('d'), bytes: 48 * Gi, now: clock.now });
    expect(fourth.outcome).toBe('allocated');
    await pass();
    expect((await describeGroup(clients, group)).nodeGroupDesired).toBe(3);
    expect(messages(log, 'Allocations do not fit the node group')).toEqual([
      expect.objectContaining({ nodePool: pool, packedNodes: 4, maxNodes: 3 }),
    ]);
  });

  it('does not scale in while a scale-out is on its way', async () => {
    const { pool, group, ports, clock, pass, log } = await poolWith({ min: 0, max: 3, desired: 1 });
    const [node] = (await nodesJoin(clients, group)) as [string];
    await pass();
    clock.now += 11 * minute;
    // Two warm-ups need a node each: a second node is requested. Both are given up before it comes.
    for (const name of ['x', 'y']) {
      await ledger.allocate({ pool, holder: holder(name), bytes: 60 * Gi, now: clock.now });
    }
    await ensureNodeCapacity(ports, await ledger.readPool(pool));
    const held = (await ledger.readPool(pool)).allocations;
    for (const name of ['x', 'y']) {
      const fence = held.find((a) => a.holder === holder(name))!;
      await ledger.release({ pool, holder: holder(name), fence });
    }
    expect((await pass())[0]).toMatchObject({ scaledIn: 0, desiredNodes: 2 });
    expect(messages(log, 'Node scale-in decision').at(-1)).toMatchObject({
      node,
      decision: 'keep',
      reason: 'empty for 11m0s, but a scale-out is on its way',
    });
    expect(await instances(group)).toHaveLength(1);
  });
});
