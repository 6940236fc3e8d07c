import type { NodePoolConfig } from '../../../lambdas/core/nodes/node-pools.js';
import { holderOf, type InferenceModel } from '../../../lambdas/core/inference-model.js';
import { DEFAULT_WORLD, World } from '../../../simulation/world.js';
import { inferenceModel, nodePoolConfig } from '../../support/builders.js';

const minute = 60_000;

// One 80Gi pool: two 48Gi models never fit together.
const pool = nodePoolConfig({
  eviction: { enabled: true, minIdleMs: minute },
  queue: { byDefault: false, expireAfterMs: 3 * minute },
});
const a = inferenceModel('a', { memory: '48Gi', cooldownPeriod: '4m' });
const b = inferenceModel('b', { memory: '48Gi', cooldownPeriod: '4m' });
const c = inferenceModel('c', { memory: '48Gi', cooldownPeriod: '4m' });
const important = inferenceModel('important', { memory: '48Gi', cooldownPeriod: '4m', priority: 5 });

/**
 * A world where every model has been created and, one after another as room allowed, started and
 * idled out (the reconciler creates a model's Deployment when it is applied): all at zero replicas.
 */
async function world(models: InferenceModel[], seed = 1, policy: Partial<NodePoolConfig> = {}) {
  const w = new World({ ...DEFAULT_WORLD, pools: [{ ...pool, ...policy }], seed });
  await w.definePools();
  for (const model of models) w.apply(model);
  await w.advance(10 * models.length * minute);
  expect([...w.cluster.deployments.values()].map((d) => d.replicas)).toEqual(models.map(() => 0));
  return w;
}

/** Warms `model` up and lets every Lambda finish; the warm-up's record. */
async function warm(w: World, model: InferenceModel, queue?: boolean) {
  const record = w.startWarmUp(model, queue);
  await w.interleaver.settle();
  return record;
}

/** Warms `model` up and runs the world until it is Ready, then `idleMs` more. */
async function running(w: World, model: InferenceModel, idleMs: number) {
  await warm(w, model);
  await w.advance(3 * minute + idleMs);
  expect(w.cluster.readyPods(w.cluster.deployments.get(holderOf(model))!)).toBe(1);
}

const holders = async (w: World) => (await w.ledger.readPool('gpu-a100')).allocations.map((x) => x.holder);
const evictions = (w: World) =>
  w.log.filter(
    (l) =>
      l.message === 'Scaled deployment to zero replicas' && String(l.fields.reason).startsWith('evicted'),
  );

describe('eviction of idle models for a warm-up', () => {
  it('scales the idle model to zero, releases its budget and starts the requester: 202 naming it', async () => {
    const w = await world([a, b]);
    await running(w, a, minute);
    const record = await warm(w, b);
    expect(record.answer?.status).toBe(202);
    expect(record.answer?.body).toMatchObject({ evicted: [{ model: 'a', namespace: 'ml', memory: '48Gi' }] });
    expect(w.cluster.deployments.get('ml/a')!.replicas).toBe(0);
    expect(w.cluster.deployments.get('ml/b')!.replicas).toBe(1);
    expect(await holders(w)).toEqual(['ml/b']);
    expect(evictions(w).map((l) => l.fields)).toEqual([
      expect.objectContaining({ model: 'a', namespace: 'ml', reason: 'evicted for ml/b' }),
    ]);
    expect(w.cluster.events).toContainEqual(
      expect.objectContaining({ model: expect.objectContaining({ name: 'a' }), reason: 'Evicted' }),
    );
  });

  it('never evicts a model that had a request within minIdle', async () => {
    const w = await world([a, b]);
    await running(w, a, 0);
    w.startActivity(a);
    await w.advance(30_000);
    const record = await warm(w, b);
    expect(record.error?.status).toBe(429);
    expect(record.error?.body.error.details).toMatchObject({ blocking: [{ model: 'a' }], queueable: true });
    expect(evictions(w)).toEqual([]);
  });

  it('never evicts a higher priority for a lower one', async () => {
    const w = await world([important, b]);
    await running(w, important, 2 * minute);
    const record = await warm(w, b);
    expect(record.error?.status).toBe(429);
    expect(evictions(w)).toEqual([]);
  });

  it('only where the pool allows it', async () => {
    const w = await world([a, b], 1, { eviction: { enabled: false, minIdleMs: minute } });
    await running(w, a, 2 * minute);
    expect((await warm(w, b)).error?.status).toBe(429);
  });

  it('two racing evicting warm-ups never both win, whatever the interleaving', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const w = await world([a, b, c], seed);
      await running(w, a, 2 * minute);
      const first = w.startWarmUp(b);
      const second = w.startWarmUp(c);
      await w.interleaver.settle();
      const started = [first, second].filter((r) => r.answer?.status === 202);
      expect(started).toHaveLength(1);
      expect(evictions(w)).toHaveLength(1);
      const pool = await w.ledger.readPool('gpu-a100');
      expect(pool.allocatedBytes).toBeLessThanOrEqual(pool.totalBytes);
      expect(pool.allocations).toHaveLength(1);
      const up = [...w.cluster.deployments.values()].filter((d) => d.replicas > 0).map(holderOf);
      expect(up).toEqual(pool.allocations.map((x) => x.holder));
    }
  });
});

describe('the admission queue', () => {
  it('answers 202 with the place in line, and the model says Queued', async () => {
    const w = await world([a, b], 1, { eviction: { enabled: false, minIdleMs: minute } });
    await running(w, a, 0);
    const record = await warm(w, b, true);
    expect(record.answer?.status).toBe(202);
    expect(record.answer?.body).toMatchObject({
      reason: 'Queued',
      queue: { pool: 'gpu-a100', position: 1, length: 1 },
    });
    const condition = w.cluster.models.get('ml/b')!.status.conditions?.find((x) => x.type === 'Ready');
    expect(condition).toMatchObject({ status: 'False', reason: 'Queued' });
  });

  it('admits the head of the line once the blocker idles out', async () => {
    const w = await world([a, b], 1, { eviction: { enabled: false, minIdleMs: minute } });
    await running(w, a, 0);
    await warm(w, b, true);
    // b's client keeps asking (each warm-up keeps its place); a idles out after its 4m cooldown.
    for (let i = 0; i < 4; i++) {
      await w.advance(2 * minute);
      await warm(w, b, true);
    }
    expect(
      w.log.some((l) => l.message === 'Admitted from the admission queue' && l.fields.model === 'b'),
    ).toBe(true);
    expect(await holders(w)).toEqual(['ml/b']);
    expect(await w.queue.list('gpu-a100')).toEqual([]);
  });

  it('admits higher priority first, then first come, with no backfill past the head', async () => {
    const small = inferenceModel('small', { memory: '16Gi', cooldownPeriod: '4m' });
    const w = await world([a, b, c, important, small], 1, {
      eviction: { enabled: false, minIdleMs: minute },
    });
    await running(w, a, 0);
    await warm(w, b, true);
    await w.advance(1_000);
    await warm(w, important, true);
    await w.advance(1_000);
    await warm(w, c, true);
    expect((await w.queue.list('gpu-a100')).map((e) => e.holder)).toEqual(['ml/important', 'ml/b', 'ml/c']);
    // 32Gi are free: small would fit, but it queues behind the head instead of taking that room.
    const smallRecord = await warm(w, small, true);
    expect(smallRecord.answer?.status).toBe(202);
    await w.advance(minute);
    expect(w.cluster.deployments.get('ml/small')?.replicas ?? 0).toBe(0);
  });

  it('lets an entry expire when its model sees no request for expireAfter', async () => {
    const w = await world([a, b], 1, { eviction: { enabled: false, minIdleMs: minute } });
    await running(w, a, 0);
    await warm(w, b, true);
    await w.advance(4 * minute);
    expect(await w.queue.list('gpu-a100')).toEqual([]);
    expect(w.log.some((l) => l.message === 'Queued warm-up expired' && l.fields.model === 'b')).toBe(true);
  });
});
