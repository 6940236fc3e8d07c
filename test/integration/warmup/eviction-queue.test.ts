// Eviction and the admission queue (issue 18) on the real kube-apiserver, controller-manager, scheduler
// and KWOK GPU nodes, with the ledger and its queues on dynalite: one eviction, two warm-ups racing to
// evict the same idle model (two Lambdas, each on its own adapters), and a queued warm-up admitted by
// the pass once the model in its way idles out.
import { randomUUID } from 'node:crypto';
import { DynamoDbAdmissionQueue } from '../../../lambdas/adapters/dynamodb-admission-queue.js';
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import type { PoolPolicy } from '../../../lambdas/core/nodes/pool-policies.js';
import type { ModelRef } from '../../../lambdas/core/inference-model.js';
import type { ReconcilePorts } from '../../../lambdas/core/reconcile/ports.js';
import { reconcileAll } from '../../../lambdas/core/reconcile/reconciler.js';
import { warmUp, type WarmUpPorts } from '../../../lambdas/core/warmup/warm-up.js';
import { sleep } from '../../../services/processes.js';
import { RecordingLog } from '../../support/fake-cluster.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { applyInferenceModel, kubectlOk, uniqueName } from '../../../services/kubectl.js';

const Gi = 2 ** 30;
const minute = 60_000;
const fixture = new IntegrationFixture('evict');
const { namespace, client } = fixture;
const pool = uniqueName('pool-ev');
const policies = new Map<string, PoolPolicy>([
  [
    pool,
    {
      eviction: { enabled: true, minIdleMs: minute },
      queue: { byDefault: false, expireAfterMs: 60 * minute },
    },
  ],
]);

/** One virtual clock for every caller: idle times and cooldowns move only when told. */
let now = Date.now();
let ledger: DynamoDbLedger;
let queue: DynamoDbAdmissionQueue;
let passPorts: ReconcilePorts;
let log: RecordingLog;

/** A Lambda of its own: adapters of its own on the same cluster and table. */
function lambda(table: string): WarmUpPorts {
  return {
    ...fixture.warmUpPorts(table, { log, clock: () => now, controlPlane: 'eviction-test' }),
    poolPolicies: policies,
    queue: new DynamoDbAdmissionQueue(client, table),
  };
}
let first: WarmUpPorts;
let second: WarmUpPorts;

const pass = () => reconcileAll(passPorts, { startDeadlineMs: 15 * minute, orphanGraceMs: 5 * minute });
const ref = (name: string): ModelRef => ({ namespace, name });
const applyModel = (name: string, extra: Record<string, unknown> = {}) =>
  applyInferenceModel(ref(name), { memory: '48Gi', pool, cooldownPeriod: '30m', ...extra });

async function stored(name: string) {
  return JSON.parse(await kubectlOk(['get', 'inferencemodel', name, '-n', namespace, '-o', 'json'])) as {
    status?: { ready?: boolean; conditions?: { type: string; reason: string }[] };
  };
}

async function untilReady(name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await pass();
    const { status } = await stored(name);
    if (status?.ready) return;
    if (Date.now() > deadline) throw new Error(`${name} not ready: ${JSON.stringify(status)}`);
    await sleep(300);
  }
}

/** Who holds budget, checking the pool's sums, and which Deployments run: the two must agree. */
async function holdersAndRunning(): Promise<{ holders: string[]; running: string[] }> {
  const snapshot = await ledger.readPool(pool);
  expect(snapshot.allocatedBytes + snapshot.availableBytes).toBe(snapshot.totalBytes);
  expect(snapshot.allocations.reduce((sum, a) => sum + a.bytes, 0)).toBe(snapshot.allocatedBytes);
  const deployments = await passPorts.cluster.listManagedDeployments();
  return {
    holders: snapshot.allocations.map((a) => a.holder.split('/')[1]!).sort(),
    running: deployments
      .filter((d) => d.replicas > 0)
      .map((d) => d.name)
      .sort(),
  };
}

const evictionLines = () =>
  log.lines.filter(
    (l) =>
      l.message === 'Scaled deployment to zero replicas' && String(l.fields.reason).startsWith('evicted for'),
  );

beforeAll(async () => {
  const fresh = await fixture.setUp();
  await fixture.gpuNode(pool, { gpus: 8, gpuMemoryGi: 80 });
  ledger = fresh.ledger;
  queue = new DynamoDbAdmissionQueue(client, fresh.table);
  await ledger.definePool({
    name: pool,
    totalBytes: 80 * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: `ng-${randomUUID()}`,
  });
  log = new RecordingLog();
  first = lambda(fresh.table);
  second = lambda(fresh.table);
  passPorts = {
    cluster: first.cluster,
    ledger: first.ledger,
    log,
    clock: () => now,
    poolPolicies: policies,
    queue,
  };
  await applyModel('old');
  await applyModel('new-a');
  await applyModel('new-b');
  await applyModel('keeper', { priority: 5 });
  await applyModel('waiter');
}, 120_000);

afterAll(() => fixture.tearDown());

describe('a warm-up evicts an idle model when its pool allows it', () => {
  it('scales the idle model to zero, releases its budget, allocates its own: 202 naming it', async () => {
    expect((await warmUp(first, ref('old'))).status).toBe(202);
    await untilReady('old');
    now += 2 * minute; // idle past the pool's 1m minIdle, well within its 30m cooldown
    const answer = await warmUp(first, ref('new-a'));
    expect(answer.status).toBe(202);
    expect(answer.status === 202 && answer.body.evicted).toEqual([
      expect.objectContaining({ model: 'old', namespace, memory: '48Gi' }),
    ]);
    expect(await holdersAndRunning()).toEqual({ holders: ['new-a'], running: ['new-a'] });
    expect(evictionLines().map((l) => l.fields.reason)).toEqual([`evicted for ${namespace}/new-a`]);
    const events = JSON.parse(
      await kubectlOk(['get', 'events', '-n', namespace, '--field-selector', 'reason=Evicted', '-o', 'json']),
    ) as { items: { involvedObject: { name: string }; message: string }[] };
    expect(events.items.map((e) => e.involvedObject.name)).toEqual(['old']);
    await untilReady('new-a');
  });

  it('two warm-ups racing to evict the same model: exactly one wins, nothing runs unbudgeted', async () => {
    now += 2 * minute; // new-a is now the idle one
    const answers = await Promise.allSettled([warmUp(first, ref('new-b')), warmUp(second, ref('old'))]);
    const started = answers.filter((a) => a.status === 'fulfilled' && a.value.status === 202);
    const refused = answers.filter(
      (a) => a.status === 'rejected' && (a.reason as { status?: number }).status === 429,
    );
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(evictionLines()).toHaveLength(2); // old before, new-a now: each once
    const { holders, running } = await holdersAndRunning();
    expect(holders).toHaveLength(1);
    expect(running).toEqual(holders);
  });
});

describe('the admission queue', () => {
  it('a queued warm-up is admitted by the pass once the model in its way idles out', async () => {
    // Park whatever runs (the race's winner, once Ready: a starting model never idles), then start
    // keeper (priority 5): waiter (priority 0) may not evict it.
    for (const name of (await holdersAndRunning()).running) await untilReady(name);
    now += 40 * minute;
    await pass();
    expect(await holdersAndRunning()).toEqual({ holders: [], running: [] });
    expect((await warmUp(first, ref('keeper'))).status).toBe(202);
    await untilReady('keeper');
    now += 2 * minute;
    const answer = await warmUp(first, ref('waiter'), 0, true);
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ reason: 'Queued', queue: { pool, position: 1, length: 1 } });
    await pass();
    expect((await stored('waiter')).status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe(
      'Queued',
    );
    now += 29 * minute; // keeper idles out (30m cooldown); waiter's entry keeps its place (1h expiry)
    await pass();
    expect(
      log.lines.some((l) => l.message === 'Admitted from the admission queue' && l.fields.model === 'waiter'),
    ).toBe(true);
    expect(await queue.list(pool)).toEqual([]);
    expect(await holdersAndRunning()).toEqual({ holders: ['waiter'], running: ['waiter'] });
    await untilReady('waiter');
  });
});
