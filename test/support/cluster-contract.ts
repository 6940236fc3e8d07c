// The Cluster contract: what the reconciler relies on from any Cluster, as cases that run against the
// in-memory FakeCluster (test/unit/core/reconcile/fake-cluster-contract.test.ts) and the real adapter on
// kube-apiserver (test/integration/adapters/kubernetes-cluster-contract.test.ts), so the fake that the
// unit tests trust cannot drift from what Kubernetes does.
import { FINALIZER, type InferenceModel, type ModelRef } from '../../lambdas/core/inference-model.js';
import { podTemplateFor } from '../../lambdas/core/reconcile/pod-template.js';
import { newDeployment, type Cluster } from '../../lambdas/core/reconcile/ports.js';
import { inferenceModel } from './builders.js';

export interface ClusterUnderTest {
  readonly cluster: Cluster;
  /** A namespace no other test writes to. */
  readonly namespace: string;
  /** Stores the model as its owner would (`kubectl apply`), and answers it as the cluster reads it back. */
  store(model: InferenceModel): Promise<InferenceModel>;
  /** Deletes the model as its owner would: with a finalizer on it, it stays, marked deleting. */
  startDeleting(ref: ModelRef): Promise<void>;
}

// Whole seconds: annotations hold ISO times, which the apiserver keeps as written.
const t0 = Date.UTC(2026, 10, 27, 15, 0, 0);
const minute = 60_000;

export function clusterContract(setUp: () => ClusterUnderTest): void {
  let under: ClusterUnderTest;
  let names = 0;
  beforeAll(() => {
    under = setUp();
  });
  const model = (spec: Parameters<typeof inferenceModel>[1] = {}) =>
    inferenceModel(
      `contract-${++names}`,
      { containerImage: 'example.invalid/vllm:1', ...spec },
      under.namespace,
    );

  it('lists and gets a stored model with its spec; an unknown one is undefined', async () => {
    const stored = await under.store(model({ memory: '24Gi', startDeadline: '30m' }));
    expect(stored.spec.memory).toBe('24Gi');
    expect(stored.spec.startDeadline).toBe('30m');
    expect(stored).toMatchObject({ deleting: false, finalizers: [] });
    const listed = (await under.cluster.listModels()).find((m) => m.name === stored.name);
    expect(listed?.spec).toEqual(stored.spec);
    expect((await under.cluster.getModel(stored))?.spec).toEqual(stored.spec);
    await expect(under.cluster.getModel({ namespace: under.namespace, name: 'never-stored' })).resolves.toBe(
      undefined,
    );
  });

  it('adds the finalizer once and removes it again', async () => {
    const stored = await under.store(model());
    await under.cluster.addFinalizer(stored);
    await under.cluster.addFinalizer((await under.cluster.getModel(stored))!);
    expect((await under.cluster.getModel(stored))?.finalizers).toEqual([FINALIZER]);
    await under.cluster.removeFinalizer((await under.cluster.getModel(stored))!);
    expect((await under.cluster.getModel(stored))?.finalizers).toEqual([]);
  });

  it('lets a deleted model go once its finalizer is removed', async () => {
    const stored = await under.store(model());
    await under.cluster.addFinalizer(stored);
    await under.startDeleting(stored);
    const deleting = await under.cluster.getModel(stored);
    expect(deleting).toMatchObject({ deleting: true, finalizers: [FINALIZER] });
    await under.cluster.removeFinalizer(deleting!);
    await expect(under.cluster.getModel(stored)).resolves.toBe(undefined);
  });

  it('creates the Deployment once, as newDeployment describes it', async () => {
    const stored = await under.store(model({ memory: '16Gi' }));
    await under.cluster.createDeployment(stored, 1, t0);
    await under.cluster.createDeployment(stored, 0, t0 + minute);
    const deployment = await under.cluster.getManagedDeployment(stored);
    expect(deployment).toEqual(newDeployment(stored, 1, t0));
    const listed = (await under.cluster.listManagedDeployments()).find((d) => d.name === stored.name);
    expect(listed).toEqual(deployment);
  });

  it('stamps scale-downs and scale-ups, keeps a start failure until the next scale-up', async () => {
    const stored = await under.store(model({ memory: '16Gi' }));
    await under.cluster.createDeployment(stored, 1, t0);
    await under.cluster.scaleDeployment(stored, 0, t0, 'image pull failed');
    expect(await under.cluster.getManagedDeployment(stored)).toMatchObject({
      replicas: 0,
      scaledToZeroAt: t0,
      scaledUpAt: undefined,
      startFailure: 'image pull failed',
    });
    const grown = {
      ...stored,
      spec: { ...stored.spec, memory: '24Gi', containerImage: 'example.invalid/vllm:2' },
    };
    await under.cluster.scaleDeployment(grown, 1, t0 + minute);
    expect(await under.cluster.getManagedDeployment(stored)).toMatchObject({
      replicas: 1,
      memoryAnnotation: '24Gi',
      scaledToZeroAt: undefined,
      scaledUpAt: t0 + minute,
      startFailure: undefined,
      template: podTemplateFor(grown),
    });
  });

  it('rolls out the model’s template and stamps the start', async () => {
    const stored = await under.store(model());
    await under.cluster.createDeployment(stored, 1, t0);
    const edited = { ...stored, spec: { ...stored.spec, containerImage: 'example.invalid/vllm:3' } };
    await under.cluster.rollOut(edited, t0 + 2 * minute);
    expect(await under.cluster.getManagedDeployment(stored)).toMatchObject({
      template: podTemplateFor(edited),
      scaledUpAt: t0 + 2 * minute,
    });
  });

  it('notes memory and a refused grow on the Deployment, and clears the refusal with null', async () => {
    const stored = await under.store(model({ memory: '16Gi' }));
    await under.cluster.createDeployment(stored, 1, t0);
    await under.cluster.annotateDeployment(stored, { memory: '20Gi', resizeRefusedFor: '48Gi' });
    expect(await under.cluster.getManagedDeployment(stored)).toMatchObject({
      memoryAnnotation: '20Gi',
      resizeRefusedFor: '48Gi',
    });
    await under.cluster.annotateDeployment(stored, { resizeRefusedFor: null });
    expect(await under.cluster.getManagedDeployment(stored)).toMatchObject({
      memoryAnnotation: '20Gi',
      resizeRefusedFor: undefined,
    });
  });

  it('merges status patches', async () => {
    const stored = await under.store(model());
    await under.cluster.patchStatus(stored, { ready: false, replicas: 0, recommendation: 'lower memory' });
    await under.cluster.patchStatus(stored, { ready: true, replicas: 1 });
    expect((await under.cluster.getModel(stored))?.status).toMatchObject({
      ready: true,
      replicas: 1,
      recommendation: 'lower memory',
    });
  });

  it('deletes the Deployment, and deleting it again is no error', async () => {
    const stored = await under.store(model());
    await under.cluster.createDeployment(stored, 1, t0);
    await under.cluster.deleteDeployment(stored);
    await under.cluster.deleteDeployment(stored);
    await expect(under.cluster.getManagedDeployment(stored)).resolves.toBe(undefined);
    const listed = await under.cluster.listManagedDeployments();
    expect(listed.some((d) => d.namespace === stored.namespace && d.name === stored.name)).toBe(false);
  });
}
