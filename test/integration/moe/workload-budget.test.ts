// Declared MoE workloads in the ledger: examples/moe/ applied to the harness's kube-apiserver (KWOK GPU
// nodes run the pods), each replica holding `namespace/name#N` on dynalite, drift repaired by passes of
// reconcileWorkloads with an injected clock, and a pass with nothing to repair writing nothing.
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { endpointFromFile } from '../../../services/kube-config.js';
import { KubernetesMoeWorkloads } from '../../../lambdas/adapters/kubernetes-moe-workloads.js';
import { reconcileWorkloads } from '../../../lambdas/core/moe/budget.js';
import { sleep } from '../../../services/processes.js';
import { RecordingLog } from '../../support/fake-cluster.js';
import { kubectlOk } from '../../../services/kubectl.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { Gi, workloadPassReport } from '../../support/builders.js';
import { applyMoeExamples, defineMoePool, deploymentJson, moeGpuNodes } from '../../support/moe.js';
import { identityOf } from '../../support/kubernetes-identity.js';

const minute = 60_000;
const fixture = new IntegrationFixture('moe-budget');
const { namespace } = fixture;
const grace = 5 * minute;

let writes = 0;
fixture.client.middlewareStack.add(
  (next, context) => (args) => {
    if (/Put|Update|Delete/.test(context.commandName ?? '')) writes++;
    return next(args);
  },
  { step: 'initialize' },
);
let ledger: DynamoDbLedger;
let cluster: KubernetesMoeWorkloads;
let log: RecordingLog;
let now = Date.now();

const pass = async () =>
  reconcileWorkloads({ cluster, ledger, log, clock: () => now }, await ledger.listPools(), {
    orphanGraceMs: grace,
    namespaces: [namespace],
  });

async function held(): Promise<Record<string, number>> {
  const pool = await ledger.readPool('gpu-a100');
  return Object.fromEntries(
    pool.allocations.filter((a) => a.holder.startsWith(`${namespace}/`)).map((a) => [a.holder, a.bytes / Gi]),
  );
}

beforeAll(async () => {
  ({ ledger } = await fixture.setUp());
  await moeGpuNodes(fixture);
  await defineMoePool(ledger);
  // As the group of the scheduled reconcile pass repairs MoE budgets (deploy/rbac/), never as cluster admin.
  cluster = new KubernetesMoeWorkloads(endpointFromFile((await identityOf('reconcile')).kubeconfig), {
    namespaces: [namespace],
  });
}, 120_000);

beforeEach(() => {
  log = new RecordingLog();
});

afterAll(() => fixture.tearDown());

describe('examples/moe/', () => {
  it('applies cleanly and its pods run on the pool its declarations name', async () => {
    const applied = await applyMoeExamples(namespace);
    expect(applied.split('\n').filter(Boolean).sort()).toEqual([
      'configmap/inference-config created',
      'configmap/router-config created',
      'configmap/training-config created',
      'deployment.apps/moe-inference created',
      'deployment.apps/moe-trainer created',
    ]);
    await kubectlOk([
      'rollout',
      'status',
      '-n',
      namespace,
      'deployment/moe-trainer',
      'deployment/moe-inference',
      '--timeout=90s',
    ]);
    const listing = await cluster.listWorkloads();
    expect(listing.invalid).toEqual([]);
    expect(
      listing.workloads.map(
        ({ name, role, pool, memory, maxReplicas, configMaps, checkpointLocation, replicas }) => ({
          name,
          role,
          pool,
          memory,
          maxReplicas,
          configMaps,
          checkpointLocation,
          replicas,
        }),
      ),
    ).toEqual([
      {
        name: 'moe-inference',
        role: 'inference',
        pool: 'gpu-a100',
        memory: '80Gi',
        maxReplicas: 3,
        configMaps: { inference: 'inference-config' },
        checkpointLocation: undefined,
        replicas: 1,
      },
      {
        name: 'moe-trainer',
        role: 'trainer',
        pool: 'gpu-a100',
        memory: '320Gi',
        maxReplicas: 1,
        configMaps: { training: 'training-config', router: 'router-config' },
        checkpointLocation: '/storage/checkpoints',
        replicas: 1,
      },
    ]);
  });
});

describe('budget drift repair', () => {
  it('allocates one holder per running replica', async () => {
    const report = await pass();
    expect(report.allocated.sort()).toEqual([`${namespace}/moe-inference#0`, `${namespace}/moe-trainer#0`]);
    expect(await held()).toEqual({
      [`${namespace}/moe-inference#0`]: 80,
      [`${namespace}/moe-trainer#0`]: 320,
    });
  });

  it('writes nothing when nothing drifted', async () => {
    writes = 0;
    const before = cluster.apiCalls;
    const report = await pass();
    expect({ writes, apiCalls: cluster.apiCalls - before, ...report }).toEqual({
      writes: 0,
      apiCalls: 1,
      ...workloadPassReport({ workloads: 2 }),
    });
  });

  it('follows a manual scale-up, and reports replicas the pool has no room for', async () => {
    await kubectlOk(['scale', '-n', namespace, 'deployment/moe-inference', '--replicas=3']);
    const report = await pass();
    // 480Gi: 320 (trainer) + 80 + 80; the third inference replica runs without an allocation.
    expect(report.allocated).toEqual([`${namespace}/moe-inference#1`]);
    expect(report.unbudgeted).toEqual([`${namespace}/moe-inference#2`]);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'Running without a memory budget allocation',
        fields: expect.objectContaining({ workload: 'moe-inference', replica: 2, nodePool: 'gpu-a100' }),
      }),
    );
  });

  it('scales a workload back to its declared maximum', async () => {
    await kubectlOk(['scale', '-n', namespace, 'deployment/moe-inference', '--replicas=5']);
    await pass();
    expect((await deploymentJson(namespace, 'moe-inference')).spec.replicas).toBe(3);
  });

  it('releases the holders of replicas scaled away, once the grace period has passed', async () => {
    await kubectlOk(['scale', '-n', namespace, 'deployment/moe-inference', '--replicas=1']);
    expect((await pass()).released).toEqual([]); // a scale-up in flight looks the same at first
    now += grace;
    expect((await pass()).released).toEqual([`${namespace}/moe-inference#1`]);
    expect(await held()).toEqual({
      [`${namespace}/moe-inference#0`]: 80,
      [`${namespace}/moe-trainer#0`]: 320,
    });
  });

  it('resizes every replica when the declared memory changes', async () => {
    await kubectlOk([
      'annotate',
      '--overwrite',
      '-n',
      namespace,
      'deployment/moe-inference',
      'inference.eh-ops.io/gpu-memory-per-replica=96Gi',
    ]);
    expect((await pass()).resized).toEqual([`${namespace}/moe-inference#0`]);
    expect((await held())[`${namespace}/moe-inference#0`]).toBe(96);
  });

  it('keeps what an invalid declaration holds, and says why it is invalid', async () => {
    await kubectlOk([
      'annotate',
      '-n',
      namespace,
      'deployment/moe-trainer',
      'inference.eh-ops.io/max-replicas-',
    ]);
    now += grace;
    const report = await pass();
    expect(report.invalid).toBe(1);
    expect(report.released).toEqual([]);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        message: 'MoE workload declaration is invalid; its allocations are kept as they are',
        fields: expect.objectContaining({
          workload: 'moe-trainer',
          problems: [
            'annotation inference.eh-ops.io/max-replicas must be a whole number from 1 to 1000 (got nothing)',
          ],
        }),
      }),
    );
    await kubectlOk([
      'annotate',
      '-n',
      namespace,
      'deployment/moe-trainer',
      'inference.eh-ops.io/max-replicas=1',
    ]);
  });

  it('releases everything a deleted workload held, after the grace period', async () => {
    await kubectlOk(['delete', '-n', namespace, 'deployment/moe-trainer', '--wait=true']);
    now += grace;
    for (let tries = 0; (await cluster.listWorkloads()).workloads.length > 1 && tries < 40; tries++)
      await sleep(250);
    expect((await pass()).released).toEqual([`${namespace}/moe-trainer#0`]);
    expect(await held()).toEqual({ [`${namespace}/moe-inference#0`]: 96 });
  });
});
