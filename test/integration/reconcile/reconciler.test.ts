// The reconciler end to end on the real kube-apiserver, controller-manager, scheduler and KWOK GPU
// nodes, with the ledger on dynalite: the original operator's scenarios, idle scale-to-zero with an
// injected clock, deletion through the finalizer, and repair after a crash between two writes.
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { endpointFromFile } from '../../../services/kube-config.js';
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import type { ModelRef } from '../../../lambdas/core/inference-model.js';
import type { ReconcilePorts } from '../../../lambdas/core/reconcile/ports.js';
import { reconcileAll } from '../../../lambdas/core/reconcile/reconciler.js';
import { sleep } from '../../../services/processes.js';
import { harnessEnv } from '../../../services/service.js';
import { RecordingLog } from '../../support/fake-cluster.js';
import { applyInferenceModel, kubectl, kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';

const Gi = 2 ** 30;
const minute = 60_000;
const fixture = new IntegrationFixture('reconcile');
const { namespace } = fixture;
const poolA = uniqueName('pool-a');
const poolB = uniqueName('pool-b');

let now = Date.now();
let cluster: KubernetesCluster;
let ledger: DynamoDbLedger;
let log: RecordingLog;
let ports: ReconcilePorts;

const pass = () => reconcileAll(ports, { startDeadlineMs: 15 * 60_000, orphanGraceMs: 5 * minute });

const applyModel = (name: string, memory: string, pool: string) =>
  applyInferenceModel({ namespace, name }, { memory, pool });

async function model(name: string) {
  return JSON.parse(await kubectlOk(['get', 'inferencemodel', name, '-n', namespace, '-o', 'json'])) as {
    metadata: { finalizers?: string[] };
    status?: {
      ready?: boolean;
      replicas?: number;
      conditions?: { type: string; status: string; reason: string; message: string }[];
    };
  };
}

async function readyCondition(name: string) {
  return (await model(name)).status?.conditions?.find((c) => c.type === 'Ready');
}

/** Passes until the model's pods are Ready on the KWOK nodes and its status says so. */
async function untilReady(name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await pass();
    if ((await model(name)).status?.ready) return;
    if (Date.now() > deadline)
      throw new Error(`${name} not ready: ${JSON.stringify((await model(name)).status)}`);
    await sleep(300);
  }
}

async function allocatedIn(pool: string): Promise<string[]> {
  return (await ledger.readPool(pool)).allocations.map((a) => a.holder);
}

async function deploymentReplicas(name: string): Promise<number | undefined> {
  return (await cluster.getManagedDeployment({ namespace, name }))?.replicas;
}

const ref = (name: string): ModelRef => ({ namespace, name });

beforeAll(async () => {
  ({ ledger } = await fixture.setUp());
  for (const pool of [poolA, poolB]) await fixture.gpuNode(pool, { gpus: 8, gpuMemoryGi: 80 });
  const kubeconfig = harnessEnv('IBCP_KUBECONFIG');
  await ledger.definePool({ name: poolA, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng-a' });
  await ledger.definePool({ name: poolB, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng-b' });
  cluster = new KubernetesCluster(endpointFromFile(kubeconfig), { namespaces: [namespace] });
  log = new RecordingLog();
  ports = { cluster, ledger, log, clock: () => now };
});

afterAll(() => fixture.tearDown());

describe('reconciler on a real cluster', () => {
  it('deploys two models that fit one pool, and both become Ready on GPU nodes', async () => {
    await applyModel('llama-2-7b', '16Gi', poolA);
    await applyModel('codellama-34b', '48Gi', poolA);
    await untilReady('llama-2-7b');
    await untilReady('codellama-34b');
    expect(await allocatedIn(poolA)).toEqual([`${namespace}/codellama-34b`, `${namespace}/llama-2-7b`]);
    const llama = await model('llama-2-7b');
    expect(llama.metadata.finalizers).toEqual(['inference.eh-ops.io/finalizer']);
    expect(llama.status).toMatchObject({ ready: true, replicas: 1 });
    expect(await readyCondition('llama-2-7b')).toMatchObject({ status: 'True', reason: 'Deployed' });
    const printed = await kubectlOk(['get', 'inferencemodels', '-n', namespace]);
    expect(printed).toMatch(new RegExp(`llama-2-7b\\s+true\\s+1\\s+16Gi\\s+${poolA}`));
  });

  it('a model that does not fit gets InsufficientMemory and a Warning event naming the blocker', async () => {
    now += 2 * minute;
    await applyModel('llama-2-70b', '40Gi', poolA);
    await pass();
    expect(await readyCondition('llama-2-70b')).toMatchObject({
      status: 'False',
      reason: 'InsufficientMemory',
    });
    expect(await deploymentReplicas('llama-2-70b')).toBeUndefined();
    const events = await kubectlOk([
      'get',
      'events',
      '-n',
      namespace,
      '--field-selector',
      'involvedObject.name=llama-2-70b,reason=InsufficientMemory',
      '-o',
      'json',
    ]);
    const messages = (JSON.parse(events) as { items: { type: string; message: string }[] }).items;
    expect(messages[0]?.type).toBe('Warning');
    expect(messages[0]?.message).toContain(`${namespace}/codellama-34b (48Gi, idle 2m0s)`);
  });

  it('pools are isolated: the same model fits the other pool', async () => {
    await applyModel('llama-2-70b-b', '40Gi', poolB);
    await untilReady('llama-2-70b-b');
    expect(await allocatedIn(poolB)).toEqual([`${namespace}/llama-2-70b-b`]);
  });

  it('idle past its cooldown, a model scales to zero and the waiting model fits', async () => {
    await ledger.recordActivity({ pool: poolA, holder: `${namespace}/llama-2-7b`, at: now });
    now += 10 * minute + 1; // codellama idle 12m, llama idle 10m: both past the 10m default
    await ledger.recordActivity({ pool: poolA, holder: `${namespace}/llama-2-7b`, at: now });
    await pass();
    expect(await deploymentReplicas('codellama-34b')).toBe(0);
    expect(await deploymentReplicas('llama-2-7b')).toBe(1);
    expect(await readyCondition('codellama-34b')).toMatchObject({ status: 'False', reason: 'ScaledToZero' });
    await untilReady('llama-2-70b');
    expect(await allocatedIn(poolA)).toEqual([`${namespace}/llama-2-70b`, `${namespace}/llama-2-7b`]);
    expect(log.messages()).toEqual(
      expect.arrayContaining(['Scaled deployment to zero replicas', 'Memory budget released']),
    );
  });

  it('deleting a model goes through the finalizer and releases its budget so another fits', async () => {
    await kubectlOk(['delete', 'inferencemodel', 'llama-2-70b', '-n', namespace, '--wait=false']);
    await pass();
    await expect(kubectl(['get', 'inferencemodel', 'llama-2-70b', '-n', namespace])).resolves.toMatchObject({
      code: 1,
    });
    expect(await deploymentReplicas('llama-2-70b')).toBeUndefined();
    expect(await allocatedIn(poolA)).toEqual([`${namespace}/llama-2-7b`]);
    expect(log.messages()).toEqual(
      expect.arrayContaining([
        'Handling InferenceModel deletion, releasing memory budget',
        'Finalizer removed, InferenceModel can be deleted',
      ]),
    );
    await applyModel('mixtral', '64Gi', poolA);
    await untilReady('mixtral');
  });

  it('crash after the ledger write, before the Deployment patch: the next pass scales up', async () => {
    // A warm-up of codellama allocated (mixtral and llama leave no room: free mixtral first) and died.
    await kubectlOk(['delete', 'inferencemodel', 'mixtral', '-n', namespace, '--wait=false']);
    await pass();
    now += minute;
    const allocation = await ledger.allocate({
      pool: poolA,
      holder: `${namespace}/codellama-34b`,
      bytes: 48 * Gi,
      now,
    });
    expect(allocation.outcome).toBe('allocated');
    await untilReady('codellama-34b');
    expect(await deploymentReplicas('codellama-34b')).toBe(1);
    expect(await allocatedIn(poolA)).toEqual([`${namespace}/codellama-34b`, `${namespace}/llama-2-7b`]);
  });

  it('crash after the Deployment patch, before the release: the next pass releases', async () => {
    now += minute;
    const codellama = await cluster.getModel(ref('codellama-34b'));
    await cluster.scaleDeployment(codellama!, 0, now); // scale-down, then died before releasing
    now += 1_000;
    await pass();
    expect(await allocatedIn(poolA)).toEqual([`${namespace}/llama-2-7b`]);
    expect(await deploymentReplicas('codellama-34b')).toBe(0);
    // And the ledger matches the cluster: every allocation has a running Deployment, and back.
    for (const pool of [poolA, poolB]) {
      for (const holder of await allocatedIn(pool)) {
        expect(await deploymentReplicas(holder.split('/')[1]!)).toBe(1);
      }
    }
  });
});
