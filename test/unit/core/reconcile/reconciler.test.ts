import fc from 'fast-check';
import { InMemoryLedger } from '../../../../lambdas/core/ledger/in-memory-ledger.js';
import { FINALIZER } from '../../../../lambdas/core/inference-model.js';
import { type ManagedDeployment } from '../../../../lambdas/core/reconcile/ports.js';
import { reconcileAll, reconcileOne } from '../../../../lambdas/core/reconcile/reconciler.js';
import { deriveStatus, statusUnchanged } from '../../../../lambdas/core/reconcile/status.js';
import { inferenceModel, managedDeployment } from '../../../support/builders.js';
import { FakeCluster, RecordingLog } from '../../../support/fake-cluster.js';

const Gi = 2 ** 30;
const minute = 60_000;
const options = { orphanGraceMs: 5 * minute, startDeadlineMs: 15 * minute };

async function world(totalGi = 80) {
  const cluster = new FakeCluster();
  const ledger = new InMemoryLedger();
  const log = new RecordingLog();
  let now = 1_700_000_000_000;
  await ledger.definePool({
    name: 'gpu-a100',
    totalBytes: totalGi * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: 'ng-a100',
  });
  await ledger.definePool({
    name: 'gpu-h100',
    totalBytes: totalGi * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: 'ng-h100',
  });
  const ports = { cluster, ledger, log, clock: () => now };
  return {
    cluster,
    ledger,
    log,
    ports,
    advance: (ms: number) => (now += ms),
    now: () => now,
    pass: () => reconcileAll(ports, options),
    allocated: async (pool = 'gpu-a100') => (await ledger.readPool(pool)).allocations.map((a) => a.holder),
  };
}

describe('reconcileAll', () => {
  it('deploys a new model after allocating its budget, and reports Ready once it serves', async () => {
    const w = await world();
    const llama = w.cluster.put(inferenceModel('llama-2-7b', { memory: '16Gi' }));
    await w.pass();
    expect(w.cluster.model(llama)?.finalizers).toEqual([FINALIZER]);
    expect(await w.allocated()).toEqual(['ml/llama-2-7b']);
    expect(w.cluster.deployments.get('ml/llama-2-7b')?.replicas).toBe(1);
    expect(w.cluster.model(llama)?.status).toMatchObject({ ready: false, replicas: 1 });
    expect(w.cluster.model(llama)?.status.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'Deploying',
    });
    expect(w.log.messages()).toEqual(['Memory budget allocated', 'Created deployment for InferenceModel']);

    w.cluster.becomeReady(llama);
    await w.pass();
    expect(w.cluster.model(llama)?.status).toMatchObject({ ready: true, replicas: 1, observedGeneration: 1 });
    expect(w.cluster.model(llama)?.status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Deployed'],
      ['Available', 'True', 'Deployed'],
    ]);
    expect(w.log.messages()).toContain('Model is now ready');
  });

  it('two models share a pool; a third that does not fit waits with InsufficientMemory naming the blocker', async () => {
    const w = await world(80);
    w.cluster.put(inferenceModel('llama-2-7b', { memory: '16Gi' }));
    w.cluster.put(inferenceModel('codellama-34b', { memory: '48Gi' }));
    await w.pass();
    w.advance(2 * minute);
    const big = w.cluster.put(inferenceModel('llama-2-70b', { memory: '40Gi' }));
    await w.pass();
    expect(w.cluster.deployments.has('ml/llama-2-70b')).toBe(false);
    expect(w.cluster.model(big)?.status.conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'InsufficientMemory',
    });
    const warning = w.cluster.events.find((e) => e.reason === 'InsufficientMemory');
    expect(warning).toMatchObject({ type: 'Warning', model: { name: 'llama-2-70b' } });
    expect(warning?.message).toContain('ml/codellama-34b (48Gi, idle 2m0s)');
    expect(w.log.lines).toContainEqual({
      level: 'info',
      message: 'Insufficient memory budget, cannot create deployment',
      fields: expect.objectContaining({ model: 'llama-2-70b', memory: '40Gi', blocking: 1 }),
    });
  });

  it('pools are isolated', async () => {
    const w = await world(64);
    w.cluster.put(inferenceModel('a', { memory: '64Gi', pool: 'gpu-a100' }));
    w.cluster.put(inferenceModel('b', { memory: '64Gi', pool: 'gpu-h100' }));
    await w.pass();
    expect(await w.allocated('gpu-a100')).toEqual(['ml/a']);
    expect(await w.allocated('gpu-h100')).toEqual(['ml/b']);
  });

  it('scales an idle model to zero after its cooldown, releases its budget, and then a waiting model fits', async () => {
    const w = await world(64);
    const a = w.cluster.put(inferenceModel('a', { memory: '48Gi', cooldownPeriod: '10m' }));
    await w.pass();
    w.cluster.becomeReady(a);
    await w.pass(); // Ready from now: the idle clock starts here (the status keeps whole seconds, rounded up)
    const b = w.cluster.put(inferenceModel('b', { memory: '32Gi' }));
    w.advance(9 * minute);
    await w.pass();
    expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(1);
    expect(w.cluster.model(b)?.status.conditions?.[0]?.reason).toBe('InsufficientMemory');

    w.advance(1 * minute + 1_001);
    await w.pass();
    expect(w.cluster.deployments.get('ml/a')).toMatchObject({ replicas: 0, scaledToZeroAt: w.now() });
    expect(w.cluster.model(a)?.status).toMatchObject({ ready: false, replicas: 0 });
    expect(w.cluster.model(a)?.status.conditions?.[0]?.reason).toBe('ScaledToZero');
    expect(w.log.lines).toContainEqual(
      expect.objectContaining({
        message: 'Scaled deployment to zero replicas',
        fields: expect.objectContaining({ reason: 'idle timeout' }),
      }),
    );
    expect(w.log.lines).toContainEqual(
      expect.objectContaining({
        message: 'Memory budget released',
        fields: expect.objectContaining({ model: 'a', reason: 'scaled to zero' }),
      }),
    );
    // b was refused earlier in this very pass (it comes after a); the next pass deploys it.
    await w.pass();
    expect(await w.allocated()).toEqual(['ml/b']);
  });

  it('idle time counts from the last request, and a model still starting is never idle', async () => {
    const w = await world();
    const a = w.cluster.put(inferenceModel('a', { cooldownPeriod: '10m', startDeadline: '1h' }));
    await w.pass();
    w.advance(30 * minute);
    await w.pass();
    expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(1); // still starting: not idle
    w.cluster.becomeReady(a);
    await w.ledger.recordActivity({ pool: 'gpu-a100', holder: 'ml/a', at: w.now() - minute });
    await w.pass();
    expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(1); // a request a minute ago
    // Ready now, later than that request: the idle clock counts from Ready (whole seconds, rounded up).
    w.advance(9 * minute + 1);
    await w.pass();
    expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(1);
    w.advance(minute + 1_000);
    await w.pass();
    expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(0);
  });

  it('deletes a model: scales down, releases, deletes the Deployment, removes the finalizer', async () => {
    const w = await world();
    const a = w.cluster.put(inferenceModel('a'));
    await w.pass();
    w.cluster.model(a)!.deleting = true;
    await w.pass();
    expect(await w.allocated()).toEqual([]);
    expect(w.cluster.deployments.has('ml/a')).toBe(false);
    expect(w.cluster.model(a)).toBeUndefined();
    expect(w.log.messages().slice(-3)).toEqual([
      'Handling InferenceModel deletion, releasing memory budget',
      'Memory budget released',
      'Finalizer removed, InferenceModel can be deleted',
    ]);
  });

  it('a deleted model frees room for a new one', async () => {
    const w = await world(48);
    const a = w.cluster.put(inferenceModel('a', { memory: '48Gi' }));
    await w.pass();
    w.cluster.model(a)!.deleting = true;
    w.cluster.put(inferenceModel('b', { memory: '48Gi' }));
    await w.pass();
    await w.pass();
    expect(await w.allocated()).toEqual(['ml/b']);
  });

  describe('repairs what a crash left half done', () => {
    it('allocation written, Deployment not scaled up: finishes the warm-up', async () => {
      const w = await world();
      const a = w.cluster.put(inferenceModel('a'));
      await w.pass();
      w.cluster.becomeReady(a);
      await w.pass();
      w.advance(11 * minute);
      await w.pass(); // idle: scaled to zero, released
      w.advance(minute);
      await w.ledger.allocate({ pool: 'gpu-a100', holder: 'ml/a', bytes: 16 * Gi, now: w.now() }); // warm-up, then crash
      await w.pass();
      expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(1);
      expect(w.log.messages()).toContain('Triggered scale-up for deployment');
    });

    it('Deployment scaled to zero, allocation not released: releases it', async () => {
      const w = await world();
      const a = w.cluster.put(inferenceModel('a'));
      await w.pass();
      await w.cluster.scaleDeployment(a, 0, w.now() + 1); // scale-down, then crash before release
      w.advance(minute);
      await w.pass();
      expect(await w.allocated()).toEqual([]);
      expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(0);
    });

    it('a running Deployment without an allocation is allocated, or reported when there is no room', async () => {
      const w = await world(16);
      w.cluster.put(inferenceModel('a'));
      w.cluster.put(inferenceModel('b'));
      for (const name of ['a', 'b']) {
        w.cluster.deployments.set(`ml/${name}`, {
          ...managedDeployment(name),
        });
      }
      await w.pass();
      expect(await w.allocated()).toEqual(['ml/a']);
      expect(w.cluster.events).toContainEqual(
        expect.objectContaining({
          reason: 'RunningWithoutAllocation',
          model: { namespace: 'ml', name: 'b' },
        }),
      );
    });

    it('an allocation whose model is gone is released after the grace period', async () => {
      const w = await world();
      await w.ledger.allocate({ pool: 'gpu-a100', holder: 'ml/ghost', bytes: Gi, now: w.now() });
      await w.pass();
      expect(await w.allocated()).toEqual(['ml/ghost']);
      w.advance(5 * minute);
      const report = await w.pass();
      expect(report.orphansReleased).toEqual(['ml/ghost']);
      expect(await w.allocated()).toEqual([]);
    });
  });

  it('a changed spec.memory on a running model is a resize through the ledger', async () => {
    const w = await world();
    const a = w.cluster.put(inferenceModel('a', { memory: '16Gi' }));
    await w.pass();
    w.cluster.model(a)!.spec.memory = '24Gi';
    w.cluster.model(a)!.generation = 2;
    await w.pass();
    expect((await w.ledger.readPool('gpu-a100')).allocatedBytes).toBe(24 * Gi);
    expect(w.cluster.deployments.get('ml/a')?.memoryAnnotation).toBe('24Gi');
    expect(w.cluster.model(a)?.status.observedGeneration).toBe(2);
  });

  it('dependencies run before the model that needs them', async () => {
    const w = await world();
    const embed = w.cluster.put(inferenceModel('embedder', { memory: '8Gi' }));
    await w.pass();
    w.cluster.becomeReady(embed);
    await w.pass();
    w.advance(11 * minute);
    await w.pass();
    expect(w.cluster.deployments.get('ml/embedder')?.replicas).toBe(0);

    const rag = w.cluster.put(inferenceModel('rag', { memory: '16Gi', dependencies: ['embedder'] }));
    await w.pass();
    expect(w.cluster.deployments.has('ml/rag')).toBe(false);
    expect(w.cluster.deployments.get('ml/embedder')?.replicas).toBe(1);
    expect(w.cluster.model(rag)?.status.conditions?.[0]).toMatchObject({
      reason: 'Pending',
      message: 'waiting for dependencies to be ready: embedder',
    });
    w.cluster.becomeReady(embed);
    await w.pass();
    expect(w.cluster.deployments.get('ml/rag')?.replicas).toBe(1);
    // In use by rag, the embedder is never idle.
    w.advance(30 * minute);
    await w.pass();
    expect(w.cluster.deployments.get('ml/embedder')?.replicas).toBe(1);
  });

  it('a dependency may be named by the modelName clients use, as original manifests do', async () => {
    const w = await world();
    const chat = w.cluster.put(
      inferenceModel('llama-2-7b', { memory: '16Gi', modelName: 'llama-2-7b-chat' }),
    );
    const code = w.cluster.put(
      inferenceModel('codellama', { memory: '16Gi', dependencies: ['llama-2-7b-chat'] }),
    );
    await w.pass();
    expect(w.cluster.model(code)?.status.conditions?.[0]).toMatchObject({
      reason: 'Pending',
      message: 'waiting for dependencies to be ready: llama-2-7b-chat',
    });
    w.cluster.becomeReady(chat);
    await w.pass();
    expect(w.cluster.deployments.get('ml/codellama')?.replicas).toBe(1);
    await reconcileOne(w.ports, code, options);
    expect(w.cluster.model(code)?.status.conditions?.[0]?.reason).not.toBe('Pending');
  });

  it('a model whose pool has no budget is Pending with a message saying so', async () => {
    const w = await world();
    const a = w.cluster.put(inferenceModel('a', { pool: 'gpu-none' }));
    await w.pass();
    expect(w.cluster.model(a)?.status.conditions?.[0]).toMatchObject({
      reason: 'Pending',
      message: expect.stringContaining('"gpu-none" has no budget'),
    });
  });

  it('a pass with nothing to change writes nothing', async () => {
    const w = await world();
    const a = w.cluster.put(inferenceModel('a'));
    await w.pass();
    w.cluster.becomeReady(a);
    await w.pass();
    w.cluster.calls.length = 0;
    await w.pass();
    expect(w.cluster.calls).toEqual(['listModels', 'listManagedDeployments']);
  });

  it('one failing model does not stop the pass', async () => {
    const w = await world();
    w.cluster.put(inferenceModel('bad', { memory: 'lots' }));
    w.cluster.put(inferenceModel('good'));
    const report = await w.pass();
    expect(report.errors).toEqual([
      { model: 'ml/bad', message: expect.stringContaining('"lots" is not a GPU memory quantity') },
    ]);
    expect(await w.allocated()).toEqual(['ml/good']);
  });
});

describe('reconcileOne', () => {
  it('deploys one model with GETs only, and never scales to zero', async () => {
    const w = await world();
    const a = w.cluster.put(inferenceModel('a'));
    await reconcileOne(w.ports, a, options);
    expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(1);
    w.cluster.becomeReady(a);
    w.advance(60 * minute);
    await reconcileOne(w.ports, a, options);
    expect(w.cluster.deployments.get('ml/a')?.replicas).toBe(1);
    expect(w.cluster.calls.filter((c) => c.startsWith('list'))).toEqual([]);
  });
});

describe('deriveStatus', () => {
  it('ready, replicas and the Ready condition never contradict each other', () => {
    const deployment = fc.option(
      fc.record({ replicas: fc.nat(3), readyReplicas: fc.nat(3), failed: fc.boolean() }),
      { nil: undefined },
    );
    const hold = fc.option(
      fc.constantFrom('InsufficientMemory' as const, 'Pending' as const, 'Terminating' as const),
      { nil: undefined },
    );
    fc.assert(
      fc.property(deployment, hold, (d, reason) => {
        const managed: ManagedDeployment | undefined = d && {
          ...managedDeployment('a'),
          ...d,
        };
        const status = deriveStatus(inferenceModel('a'), managed, reason && { reason, message: 'x' }, 0);
        const ready = status.conditions?.find((c) => c.type === 'Ready');
        if (status.ready) expect(status.replicas).toBeGreaterThan(0);
        expect(ready?.status).toBe(status.ready ? 'True' : 'False');
        expect(ready?.reason === 'Deployed').toBe(status.ready);
      }),
    );
  });
});

describe('statusUnchanged', () => {
  it('compares values: the apiserver returns keys in its own order and times in whole seconds', () => {
    const model = inferenceModel('a');
    const next = deriveStatus(model, undefined, undefined, 1_700_000_000_123);
    const asReadBack = {
      ...next,
      conditions: next.conditions!.map((c) => ({
        lastTransitionTime: c.lastTransitionTime.replace('.000Z', 'Z'),
        message: c.message,
        observedGeneration: c.observedGeneration,
        reason: c.reason,
        status: c.status,
        type: c.type,
      })),
    };
    expect(next.conditions![0]!.lastTransitionTime).toBe('2023-11-14T22:13:20Z');
    expect(statusUnchanged({ ...model, status: asReadBack }, next)).toBe(true);
    expect(statusUnchanged({ ...model, status: { ...asReadBack, replicas: 1 } }, next)).toBe(false);
  });
});
