// The lifecycle fixes of issue 14 on the real kube-apiserver, controller-manager, scheduler and KWOK GPU
// nodes, with the ledger on dynalite: a warm-up racing a scale-down (the fenced release), a pool move
// (refused by the admission webhook while the model runs, allowed at zero) and a spec edit rolling out.
// Two callers race the way two Lambdas do: the warm-up runs at an await point inside the pass's
// scale-down, on its own adapter instances.
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { kubeConfigFromFile } from '../../../services/kube-config.js';
import { kubeConfigEndpoint } from '../../../lambdas/adapters/kubeconfig-file.js';
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import type { InferenceModel, ModelRef } from '../../../lambdas/core/inference-model.js';
import type { ReconcilePorts } from '../../../lambdas/core/reconcile/ports.js';
import { podTemplateFor, sameTemplate } from '../../../lambdas/core/reconcile/pod-template.js';
import { reconcileAll } from '../../../lambdas/core/reconcile/reconciler.js';
import { warmUp, type WarmUpPorts } from '../../../lambdas/core/warmup/warm-up.js';
import { createWebhookHandler } from '../../../lambdas/handlers/admission-webhook.js';
import { sleep } from '../../../services/processes.js';
import { harnessEnv } from '../../../services/service.js';
import { RecordingLog } from '../../support/fake-cluster.js';
import { lambdaContext } from '../../support/lambda-environment.js';
import { applyInferenceModel, kubectlOk, uniqueName } from '../../../services/kubectl.js';
import { IntegrationFixture, modelPatch } from '../../support/integration-fixture.js';
import { admissionReview } from '../../support/builders.js';

const Gi = 2 ** 30;
const minute = 60_000;
const fixture = new IntegrationFixture('lifecycle');
const { namespace, client } = fixture;
const poolA = uniqueName('pool-la');
const poolB = uniqueName('pool-lb');
const secret = randomBytes(32).toString('hex');

/** One virtual clock for every caller: the idle clock, cooldowns and deadlines move only when told. */
let now = Date.now();
let ledger: DynamoDbLedger;
let table: string;
let passPorts: ReconcilePorts;
let warmUpPorts: WarmUpPorts;
let passCluster: InterleavingCluster;
let passLedger: InterleavingLedger;
let log: RecordingLog;

/**
 * The pass's cluster, with a hook to run another caller at the await points around its scale-down
 * (the Deployment patch): before it, or after it and before the pass reads the ledger again.
 */
class InterleavingCluster extends KubernetesCluster {
  aroundScaleDown: { before?: () => Promise<unknown>; after?: () => Promise<unknown> } = {};

  override async scaleDeployment(model: InferenceModel, replicas: number, at: number, failure?: string) {
    const { before, after } = replicas === 0 ? this.aroundScaleDown : {};
    if (replicas === 0) this.aroundScaleDown = {};
    if (before) await before();
    await super.scaleDeployment(model, replicas, at, failure);
    if (after) await after();
  }
}

/** The pass's ledger, with a hook to run another caller right before its release is written. */
class InterleavingLedger extends DynamoDbLedger {
  beforeRelease: (() => Promise<unknown>) | undefined;

  override async release(request: Parameters<DynamoDbLedger['release']>[0]) {
    const run = this.beforeRelease;
    this.beforeRelease = undefined;
    if (run) await run();
    return super.release(request);
  }
}

const pass = () => reconcileAll(passPorts, { startDeadlineMs: 15 * minute, orphanGraceMs: 5 * minute });
const ref = (name: string): ModelRef => ({ namespace, name });
const applyModel = (name: string, pool: string, extra: Record<string, unknown> = {}) =>
  applyInferenceModel(ref(name), { memory: '16Gi', pool, cooldownPeriod: '10m', ...extra });
const patchSpec = (name: string, spec: object) => kubectlOk(modelPatch(namespace, name, { spec }));

async function stored(name: string): Promise<Record<string, unknown> & { spec: Record<string, unknown> }> {
  return JSON.parse(await kubectlOk(['get', 'inferencemodel', name, '-n', namespace, '-o', 'json']));
}

/** Passes until the model's pods are Ready on the KWOK nodes and its status says so. */
async function untilReady(name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await pass();
    const status = (await stored(name)).status as { ready?: boolean } | undefined;
    if (status?.ready) return;
    if (Date.now() > deadline) throw new Error(`${name} not ready: ${JSON.stringify(status)}`);
    await sleep(300);
  }
}

/** I1 for one model, as the ledger holds it: exactly these allocations, and every pool's sums add up. */
async function holdings(name: string): Promise<{ pool: string; bytes: number }[]> {
  const found: { pool: string; bytes: number }[] = [];
  for (const pool of await Promise.all([poolA, poolB].map((p) => ledger.readPool(p)))) {
    expect(pool.allocatedBytes + pool.availableBytes).toBe(pool.totalBytes);
    expect(pool.allocations.reduce((sum, a) => sum + a.bytes, 0)).toBe(pool.allocatedBytes);
    for (const a of pool.allocations) {
      if (a.holder === `${namespace}/${name}`) found.push({ pool: pool.name, bytes: a.bytes });
    }
  }
  return found;
}

const replicas = async (name: string) => (await passCluster.getManagedDeployment(ref(name)))?.replicas;

const releasesOf = (name: string) =>
  log.lines.filter((l) => l.message === 'Memory budget released' && l.fields.model === name);

async function replicaSetHashes(name: string): Promise<string[]> {
  const { items } = JSON.parse(
    await kubectlOk([
      'get',
      'replicasets',
      '-n',
      namespace,
      '-l',
      `app.kubernetes.io/name=${name}`,
      '-o',
      'json',
    ]),
  ) as { items: { metadata: { labels: Record<string, string> } }[] };
  return items.map((rs) => rs.metadata.labels['pod-template-hash'] ?? '?').sort();
}

beforeAll(async () => {
  ({ ledger, table } = await fixture.setUp());
  for (const pool of [poolA, poolB]) await fixture.gpuNode(pool, { gpus: 8, gpuMemoryGi: 80 });
  const kubeconfig = harnessEnv('IBCP_KUBECONFIG');
  await ledger.definePool({ name: poolA, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng-a' });
  await ledger.definePool({ name: poolB, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng-b' });
  const config = kubeConfigFromFile(kubeconfig);
  log = new RecordingLog();
  passCluster = new InterleavingCluster(kubeConfigEndpoint(config), { namespaces: [namespace] });
  passLedger = new InterleavingLedger(client, table);
  passPorts = { cluster: passCluster, ledger: passLedger, log, clock: () => now };
  // The warm-up is another Lambda: its own adapters on the same cluster and table.
  warmUpPorts = fixture.warmUpPorts(table, { log, clock: () => now, controlPlane: 'lifecycle-test' });
}, 120_000);

afterAll(() => fixture.tearDown());

describe('a warm-up racing a scale-down: the release is fenced', () => {
  beforeAll(async () => {
    await applyModel('racer', poolA);
    expect((await warmUp(warmUpPorts, ref('racer'))).status).toBe(202);
    await untilReady('racer');
    expect(await holdings('racer')).toEqual([{ pool: poolA, bytes: 16 * Gi }]);
  });

  it('a warm-up between the scale to zero and the release claims the allocation: running, one allocation', async () => {
    now += 11 * minute; // idle past its 10m cooldown
    let answer: Awaited<ReturnType<typeof warmUp>> | undefined;
    passCluster.aroundScaleDown = {
      after: async () => {
        answer = await warmUp(warmUpPorts, ref('racer'));
      },
    };
    await pass();
    // The warm-up found it at zero replicas still holding its budget, claimed that and scaled up; the
    // pass's release was fenced to the allocation it had read, so it released nothing.
    expect(answer?.status).toBe(202);
    expect(await replicas('racer')).toBe(1);
    expect(await holdings('racer')).toEqual([{ pool: poolA, bytes: 16 * Gi }]);
    expect(releasesOf('racer')).toEqual([]);
    await untilReady('racer');
    expect(await holdings('racer')).toEqual([{ pool: poolA, bytes: 16 * Gi }]);
  });

  it('a warm-up between the pass’s last read and its release: the fenced release frees nothing', async () => {
    now += 11 * minute;
    let answer: Awaited<ReturnType<typeof warmUp>> | undefined;
    passLedger.beforeRelease = async () => {
      answer = await warmUp(warmUpPorts, ref('racer'));
    };
    await pass();
    // The pass had scaled to zero and read the allocation; the warm-up then claimed it (a new since)
    // and scaled up; the release, conditional on what the pass read, changed nothing.
    expect(answer?.status).toBe(202);
    expect(passLedger.beforeRelease).toBeUndefined(); // the pass did try to release
    expect(await replicas('racer')).toBe(1);
    expect(await holdings('racer')).toEqual([{ pool: poolA, bytes: 16 * Gi }]);
    expect(releasesOf('racer')).toEqual([]);
    await untilReady('racer');
    expect(await holdings('racer')).toEqual([{ pool: poolA, bytes: 16 * Gi }]);
  });

  it('a warm-up between the pass’s decision and its scale to zero undoes the scale-down', async () => {
    now += 11 * minute;
    let answer: Awaited<ReturnType<typeof warmUp>> | undefined;
    passCluster.aroundScaleDown = {
      before: async () => {
        answer = await warmUp(warmUpPorts, ref('racer'));
      },
    };
    await pass();
    expect(answer?.status).toBe(200); // still running when it came
    expect(await replicas('racer')).toBe(1);
    expect(await holdings('racer')).toEqual([{ pool: poolA, bytes: 16 * Gi }]);
    expect(releasesOf('racer')).toEqual([]);
    await untilReady('racer');
  });

  it('without a warm-up, the same scale-down releases exactly once', async () => {
    now += 11 * minute;
    await pass();
    expect(await replicas('racer')).toBe(0);
    expect(await holdings('racer')).toEqual([]);
    expect(releasesOf('racer')).toHaveLength(1);
    await pass();
    expect(releasesOf('racer')).toHaveLength(1);
  });
});

describe('a pool move: refused by the webhook while the model runs, allowed at zero', () => {
  let handler: ReturnType<typeof createWebhookHandler>;

  /** The validating webhook's verdict on an update of `name` from its stored object to `spec` edits. */
  async function admission(name: string, spec: Record<string, unknown>) {
    const oldObject = await stored(name);
    const object = { ...oldObject, spec: { ...oldObject.spec, ...spec } };
    const body = admissionReview(object, namespace).update(oldObject).name(name).json();
    const path = `/webhook/${secret}`;
    const event = { httpMethod: 'POST', path, headers: { 'Content-Type': 'application/json' }, body };
    const result = (await handler(
      event as unknown as APIGatewayProxyEvent,
      lambdaContext('admission-webhook'),
    )) as APIGatewayProxyResult;
    return (JSON.parse(result.body) as { response: { allowed: boolean; status?: { message: string } } })
      .response;
  }

  beforeAll(async () => {
    handler = createWebhookHandler({
      ledgerTable: table,
      dynamoDbEndpoint: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
      eventBusName: 'default',
      secret: { value: secret },
      kubernetes: { kubeconfig: harnessEnv('IBCP_KUBECONFIG') },
    });
    await applyModel('mover', poolA);
    expect((await warmUp(warmUpPorts, ref('mover'))).status).toBe(202);
    await untilReady('mover');
  });

  it('refuses the move while the model holds budget in its old pool, saying what to do', async () => {
    const verdict = await admission('mover', { nodeSelector: { 'inference-pool': poolB } });
    expect(verdict.allowed).toBe(false);
    expect(verdict.status?.message).toBe(
      `spec.nodeSelector.inference-pool cannot change from ${poolA} to ${poolB} while ${namespace}/mover ` +
        `holds 16Gi of ${poolA} (running or starting): scale it to zero first (maxReplicas: 0, or let it ` +
        'idle out), then change the pool',
    );
    // What the message asks for is admitted.
    expect((await admission('mover', { maxReplicas: 0 })).allowed).toBe(true);
  });

  it('at zero the move is allowed, and the next warm-up leaves exactly one allocation, in the new pool', async () => {
    await patchSpec('mover', { maxReplicas: 0 });
    await pass();
    expect(await replicas('mover')).toBe(0);
    expect(await holdings('mover')).toEqual([]);

    expect(await admission('mover', { nodeSelector: { 'inference-pool': poolB }, maxReplicas: 1 })).toEqual(
      expect.objectContaining({ allowed: true }),
    );
    await patchSpec('mover', { nodeSelector: { 'inference-pool': poolB }, maxReplicas: 1 });
    await pass();
    expect(await holdings('mover')).toEqual([]); // nothing is allocated before a warm-up asks

    expect((await warmUp(warmUpPorts, ref('mover'))).status).toBe(202);
    await untilReady('mover');
    expect(await holdings('mover')).toEqual([{ pool: poolB, bytes: 16 * Gi }]);
    const deployment = await passCluster.getManagedDeployment(ref('mover'));
    expect(deployment?.template.nodeSelector).toEqual({ 'inference-pool': poolB });
    const pods = JSON.parse(
      await kubectlOk(['get', 'pods', '-n', namespace, '-l', 'app.kubernetes.io/name=mover', '-o', 'json']),
    ) as { items: { spec: { nodeName?: string }; metadata: { deletionTimestamp?: string } }[] };
    const running = pods.items.filter((p) => !p.metadata.deletionTimestamp);
    expect(running.map((p) => p.spec.nodeName)).toEqual([`${poolB}-node`]);
  });
});

describe('a spec edit on a running model rolls out', () => {
  beforeAll(async () => {
    await applyModel('editor', poolA);
    expect((await warmUp(warmUpPorts, ref('editor'))).status).toBe(202);
    await untilReady('editor');
  });

  it('a new image goes out within one pass, once, on the same allocation', async () => {
    const allocationBefore = (await ledger.readPool(poolA)).allocations.find(
      (a) => a.holder === `${namespace}/editor`,
    );
    const hashesBefore = await replicaSetHashes('editor');
    await patchSpec('editor', { containerImage: 'registry.example/vllm-openai:v0.7.0' });

    await pass();
    const model = await passCluster.getModel(ref('editor'));
    const deployment = await passCluster.getManagedDeployment(ref('editor'));
    expect(deployment?.template.image).toBe('registry.example/vllm-openai:v0.7.0');
    expect(sameTemplate(deployment!.template, podTemplateFor(model!))).toBe(true);
    expect(
      log.lines.some(
        (l) => l.message === 'Rolled out the edited pod template' && l.fields.model === 'editor',
      ),
    ).toBe(true);

    await untilReady('editor');
    const hashesAfter = await replicaSetHashes('editor');
    expect(hashesAfter).toHaveLength(hashesBefore.length + 1);
    // Passes after it find the template as the spec asks: no second rollout.
    await pass();
    await pass();
    expect(await replicaSetHashes('editor')).toEqual(hashesAfter);
    expect(
      log.lines.filter(
        (l) => l.message === 'Rolled out the edited pod template' && l.fields.model === 'editor',
      ),
    ).toHaveLength(1);
    // Budget untouched: same allocation, same since (a rollout is no new start of the idle clock).
    const allocationAfter = (await ledger.readPool(poolA)).allocations.find(
      (a) => a.holder === `${namespace}/editor`,
    );
    expect(allocationAfter).toEqual(allocationBefore);
    expect(await holdings('editor')).toEqual([{ pool: poolA, bytes: 16 * Gi }]);
  });
});
