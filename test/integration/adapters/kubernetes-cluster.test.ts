import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { eksEndpoint } from '../../../lambdas/adapters/eks-endpoint.js';
import { kubeConfigFromFile } from '../../../services/kube-config.js';
import { kubeConfigEndpoint, kubeconfigFileEndpoint } from '../../../lambdas/adapters/kubeconfig-file.js';
import {
  INFERENCE_MODELS,
  toManagedDeployment,
} from '../../../lambdas/adapters/kubernetes-cluster-mappers.js';
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import {
  FINALIZER,
  MANAGED_LABEL,
  type InferenceModel,
  type InferenceModelSpec,
  type InferenceModelStatus,
} from '../../../lambdas/core/inference-model.js';
import { podTemplateFor, sameTemplate } from '../../../lambdas/core/reconcile/pod-template.js';
import { createGpuNode, deleteGpuNode } from '../../../services/gpu-nodes.js';
import { runCommand, sleep } from '../../../services/processes.js';
import { harnessEnv } from '../../../services/service.js';
import { CRD_SPEC_DEFAULTS, inferenceModelWithSpec } from '../../support/builders.js';

// Unique per run: other suites share this kube-apiserver.
const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const namespace = `adapter-${suffix}`;
const pool = `adapter-pool-${suffix}`;
const nodeName = `adapter-gpu-${suffix}`;
const OTHER_FINALIZER = 'example.com/other-controller';

describe('KubernetesCluster on kube-apiserver', () => {
  const kubeconfig = harnessEnv('IBCP_KUBECONFIG');
  const config = kubeConfigFromFile(kubeconfig);
  const custom = config.makeApiClient(CustomObjectsApi);
  const apps = config.makeApiClient(AppsV1Api);
  const core = config.makeApiClient(CoreV1Api);
  const cluster = new KubernetesCluster(kubeConfigEndpoint(config));
  /** When the control plane created `llama`: the Deployment carries it as its scale-up time. */
  const createdAt = Date.UTC(2026, 11, 2, 9, 30);
  const kubectl = (...args: string[]): Promise<string> =>
    runCommand('kubectl', harnessEnv('IBCP_KUBECTL'), ['--kubeconfig', kubeconfig, ...args]);

  const createModel = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
    custom.createNamespacedCustomObject({
      ...INFERENCE_MODELS,
      namespace,
      body: inferenceModelWithSpec(name, spec, namespace),
    });
  const required = { modelName: 'tiny', memory: '8Gi', backendUrl: 'http://tiny.models.svc:8000' };
  const gpuSpec = {
    modelName: 'meta-llama/Llama-2-7b',
    memory: '16Gi',
    backendUrl: 'http://llama.models.svc:8000',
    nodeSelector: { 'inference-pool': pool },
    containerImage: 'example.invalid/vllm:1',
    // gpu only as a limit (and as a string): the adapter mirrors it into requests.
    resources: { requests: { cpu: '2', memory: '8Gi' }, limits: { cpu: 4, memory: '16Gi', gpu: '1' } },
  };

  async function listed(name: string): Promise<InferenceModel> {
    const model = (await cluster.listModels()).find((m) => m.namespace === namespace && m.name === name);
    if (!model) throw new Error(`${namespace}/${name} not listed`);
    return model;
  }
  async function readDeployment(name: string): Promise<V1Deployment> {
    return apps.readNamespacedDeployment({ namespace, name });
  }
  /** Polls until `check` holds for the value `read` returns, and returns that value. */
  async function eventually<T>(
    what: string,
    read: () => Promise<T>,
    check: (value: T) => boolean,
  ): Promise<T> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const value = await read();
      if (check(value)) return value;
      if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after 90s`);
      await sleep(500);
    }
  }
  const edited = (model: InferenceModel, spec: Partial<InferenceModelSpec>): InferenceModel => ({
    ...model,
    spec: { ...model.spec, ...spec },
  });
  /** Rolled out and ready: the new ReplicaSet's pod runs and no old pod is left. */
  const settled = () =>
    eventually(
      'rollout',
      () => readDeployment('llama'),
      (d) =>
        d.status?.observedGeneration === d.metadata?.generation &&
        d.status?.updatedReplicas === 1 &&
        d.status?.readyReplicas === 1 &&
        d.status?.replicas === 1,
    );
  async function replicaSetHashes(): Promise<string[]> {
    const { items } = await apps.listNamespacedReplicaSet({
      namespace,
      labelSelector: `${MANAGED_LABEL}=true`,
    });
    return items.map((rs) => rs.metadata?.labels?.['pod-template-hash'] ?? '?').sort();
  }

  beforeAll(async () => {
    await kubectl('apply', '-k', 'deploy/');
    await kubectl(
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/inferencemodels.inference.eh-ops.io',
    );
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await createGpuNode(kubeconfig, { name: nodeName, pool, gpus: 1, gpuMemoryGi: 80 });
    await createModel('minimal', required);
    await createModel('llama', gpuSpec);
  });

  afterAll(async () => {
    // Finalizers would keep the namespace terminating forever once no control plane runs.
    for (const name of ['minimal', 'llama']) {
      await kubectl(
        'patch',
        'inferencemodel',
        name,
        '-n',
        namespace,
        '--type=merge',
        '-p',
        '{"metadata":{"finalizers":null}}',
      ).catch(() => undefined);
    }
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await deleteGpuNode(kubeconfig, nodeName).catch(() => undefined);
  });

  it('lists models in one call with the CRD defaults for absent fields', async () => {
    const before = cluster.apiCalls;
    const model = await listed('minimal');
    expect(cluster.apiCalls - before).toBe(1);
    expect(model).toMatchObject({
      namespace,
      name: 'minimal',
      generation: 1,
      deleting: false,
      finalizers: [],
      status: {},
      spec: {
        ...required,
        ...CRD_SPEC_DEFAULTS,
      },
    });
    expect(model.uid).toMatch(/^[0-9a-f-]{36}$/);
    // int-or-string quantities come back as the interface's types.
    expect((await listed('llama')).spec.resources).toEqual({
      requests: { cpu: '2', memory: '8Gi' },
      limits: { cpu: '4', memory: '16Gi', gpu: 1 },
    });
  });

  it('gets one model, and undefined for a missing one', async () => {
    await expect(cluster.getModel({ namespace, name: 'minimal' })).resolves.toMatchObject({
      name: 'minimal',
    });
    await expect(cluster.getModel({ namespace, name: 'absent' })).resolves.toBeUndefined();
  });

  it('adds the finalizer once, however often it is asked', async () => {
    const model = await listed('minimal');
    await cluster.addFinalizer(model);
    // The same (now stale) snapshot again: its resourceVersion conflicts, a re-read finds the finalizer.
    await cluster.addFinalizer(model);
    await cluster.addFinalizer(await listed('minimal'));
    expect((await cluster.getModel({ namespace, name: 'minimal' }))?.finalizers).toEqual([FINALIZER]);
  });

  it('keeps a concurrent change made between its read and its patch', async () => {
    const stale = await listed('llama');
    await kubectl('label', 'inferencemodel', 'llama', '-n', namespace, 'team=research');
    await kubectl(
      'patch',
      'inferencemodel',
      'llama',
      '-n',
      namespace,
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { finalizers: [OTHER_FINALIZER] } }),
    );

    const before = cluster.apiCalls;
    await cluster.addFinalizer(stale);
    // A patch refused with 409, a fresh read, a patch that wins.
    expect(cluster.apiCalls - before).toBe(3);
    const stored = (await custom.getNamespacedCustomObject({
      ...INFERENCE_MODELS,
      namespace,
      name: 'llama',
    })) as {
      metadata: { labels: Record<string, string>; finalizers: string[] };
    };
    expect(stored.metadata.finalizers).toEqual([OTHER_FINALIZER, FINALIZER]);
    expect(stored.metadata.labels.team).toBe('research');
  });

  it('creates the Deployment with labels, annotation, owner, node selector and GPUs', async () => {
    const model = await listed('llama');
    await cluster.createDeployment(model, 1, createdAt);
    // Already there: left alone, no error.
    await cluster.createDeployment(model, 0, Date.now());

    const deployment = await readDeployment('llama');
    const labels = {
      'app.kubernetes.io/name': 'llama',
      'app.kubernetes.io/component': 'inference-server',
      'inference.eh-ops.io/model': 'meta-llama-llama-2-7b',
      'inference.eh-ops.io/managed': 'true',
    };
    expect(deployment.metadata?.labels).toEqual(labels);
    expect(deployment.metadata?.annotations).toMatchObject({
      'inference.eh-ops.io/memory': '16Gi',
      'inference.eh-ops.io/scaled-up-at': '2026-12-02T09:30:00.000Z',
    });
    expect(deployment.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'inference.eh-ops.io/v1alpha1',
        kind: 'InferenceModel',
        name: 'llama',
        uid: model.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.spec?.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'llama',
      'inference.eh-ops.io/model': 'meta-llama-llama-2-7b',
    });
    const template = deployment.spec?.template;
    expect(template?.metadata?.labels).toEqual(labels);
    expect(template?.spec?.nodeSelector).toEqual({ 'inference-pool': pool });
    const [container] = template?.spec?.containers ?? [];
    // Old pod out before the new one starts: a surge pod would hold unbudgeted GPU memory.
    expect(deployment.spec?.strategy).toEqual({ type: 'Recreate' });
    expect(container).toMatchObject({
      name: 'inference-server',
      image: 'example.invalid/vllm:1',
      env: [{ name: 'MODEL_NAME', value: 'meta-llama/Llama-2-7b' }],
      resources: {
        requests: { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': '1' },
        limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' },
      },
    });
  });

  it('reports the Deployment ready once its pod runs on a GPU node of the pool', async () => {
    const deadline = Date.now() + 90_000;
    let seen = await cluster.getManagedDeployment({ namespace, name: 'llama' });
    while (seen?.readyReplicas !== 1 && Date.now() < deadline) {
      await sleep(500);
      seen = await cluster.getManagedDeployment({ namespace, name: 'llama' });
    }
    expect(seen).toEqual({
      namespace,
      name: 'llama',
      replicas: 1,
      readyReplicas: 1,
      failed: false,
      memoryAnnotation: '16Gi',
      scaledToZeroAt: undefined,
      scaledUpAt: createdAt,
      startFailure: undefined,
      resizeRefusedFor: undefined,
      template: {
        image: 'example.invalid/vllm:1',
        modelName: 'meta-llama/Llama-2-7b',
        nodeSelector: { 'inference-pool': pool },
        requests: { cpu: '2', memory: '8Gi', 'nvidia.com/gpu': '1' },
        limits: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' },
      },
    });
    expect(sameTemplate(seen!.template, podTemplateFor(await listed('llama')))).toBe(true);
    await expect(cluster.getManagedDeployment({ namespace, name: 'absent' })).resolves.toBeUndefined();
  });

  it('scales to zero and back without touching the pod template', async () => {
    const model = await listed('llama');
    const templateBefore = (await readDeployment('llama')).spec?.template;
    const hashesBefore = await replicaSetHashes();
    expect(hashesBefore).toHaveLength(1);

    const at = Date.parse('2030-01-02T03:04:05.678Z');
    await cluster.scaleDeployment({ ...model, spec: { ...model.spec, memory: '24Gi' } }, 0, at);
    await expect(cluster.getManagedDeployment({ namespace, name: 'llama' })).resolves.toMatchObject({
      replicas: 0,
      memoryAnnotation: '24Gi',
      scaledToZeroAt: at,
    });
    expect(
      (await readDeployment('llama')).metadata?.annotations?.['inference.eh-ops.io/scaled-to-zero-at'],
    ).toBe('2030-01-02T03:04:05.678Z');

    await cluster.scaleDeployment(model, 1, at + 60_000);
    const after = await readDeployment('llama');
    expect(after.spec?.replicas).toBe(1);
    expect(after.metadata?.annotations?.['inference.eh-ops.io/scaled-to-zero-at']).toBeUndefined();
    expect(after.metadata?.annotations?.['inference.eh-ops.io/memory']).toBe('16Gi');
    expect(after.spec?.template).toEqual(templateBefore);
    // A changed template would have rolled out a new ReplicaSet.
    await expect(replicaSetHashes()).resolves.toEqual(hashesBefore);
  });

  it('reads back the scale-up time, start failure and refused grow it wrote on the Deployment', async () => {
    const model = await listed('llama');
    const ref = { namespace, name: 'llama' };
    const up = Date.parse('2030-01-02T04:00:00.000Z');
    await cluster.scaleDeployment(model, 1, up);
    await expect(cluster.getManagedDeployment(ref)).resolves.toMatchObject({
      scaledUpAt: up,
      scaledToZeroAt: undefined,
      startFailure: undefined,
    });

    // Given up on: scaled to zero with the reason, which the next scale-up clears.
    const failure =
      "pod llama-x cannot be scheduled: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.";
    await cluster.scaleDeployment(model, 0, up + 1_000, failure);
    await expect(cluster.getManagedDeployment(ref)).resolves.toMatchObject({
      replicas: 0,
      scaledToZeroAt: up + 1_000,
      scaledUpAt: undefined,
      startFailure: failure,
    });
    await cluster.scaleDeployment(model, 1, up + 2_000);
    await expect(cluster.getManagedDeployment(ref)).resolves.toMatchObject({
      replicas: 1,
      scaledUpAt: up + 2_000,
      startFailure: undefined,
    });

    // Notes touch only what they name; null removes one.
    await cluster.annotateDeployment(ref, { resizeRefusedFor: '32Gi' });
    await expect(cluster.getManagedDeployment(ref)).resolves.toMatchObject({
      memoryAnnotation: '16Gi',
      resizeRefusedFor: '32Gi',
      scaledUpAt: up + 2_000,
    });
    await cluster.annotateDeployment(ref, { memory: '20Gi', resizeRefusedFor: null });
    await expect(cluster.getManagedDeployment(ref)).resolves.toMatchObject({
      memoryAnnotation: '20Gi',
      resizeRefusedFor: undefined,
    });
    await cluster.annotateDeployment(ref, { memory: '16Gi' });
    await settled();
    // The list reads the same as the get.
    const listedDeployment = (await cluster.listManagedDeployments()).find(
      (d) => d.namespace === namespace && d.name === 'llama',
    );
    expect(listedDeployment).toEqual(await cluster.getManagedDeployment(ref));
    expect(toManagedDeployment(await readDeployment('llama'))).toEqual(listedDeployment);
  });

  it('rolls out a changed image, resources and node selector, and an unchanged spec rolls out nothing', async () => {
    const model = await listed('llama');
    const ref = { namespace, name: 'llama' };
    const hashesBefore = await replicaSetHashes();

    // 0.5 cpu: the apiserver stores 500m, which must still compare equal.
    const changed = edited(model, {
      containerImage: 'example.invalid/vllm:2',
      nodeSelector: { 'inference-pool': pool, 'kubernetes.io/os': 'linux' },
      resources: { requests: { cpu: '0.5', memory: '8Gi' }, limits: { cpu: '1', memory: '16Gi', gpu: 1 } },
    });
    await cluster.rollOut(changed, Date.now());
    const rolled = await settled();
    const hashesAfter = await replicaSetHashes();
    expect(hashesAfter).toHaveLength(hashesBefore.length + 1);
    const read = await cluster.getManagedDeployment(ref);
    expect(read?.template).toEqual({
      image: 'example.invalid/vllm:2',
      modelName: 'meta-llama/Llama-2-7b',
      nodeSelector: { 'inference-pool': pool, 'kubernetes.io/os': 'linux' },
      requests: { cpu: '500m', memory: '8Gi', 'nvidia.com/gpu': '1' },
      limits: { cpu: '1', memory: '16Gi', 'nvidia.com/gpu': '1' },
    });
    expect(sameTemplate(read!.template, podTemplateFor(changed))).toBe(true);
    expect(rolled.spec?.strategy).toEqual({ type: 'Recreate' });

    // The same spec again: the pod template does not change, so no new ReplicaSet. (The generation may
    // move: rollOut stamps the scaled-up time, and a Deployment's annotations count for its generation.)
    await cluster.rollOut(changed, Date.now());
    const again = await readDeployment('llama');
    expect(again.spec?.template).toEqual(rolled.spec?.template);
    await expect(replicaSetHashes()).resolves.toEqual(hashesAfter);

    // Keys the spec drops are dropped from the template too (a merged map would keep them forever).
    const trimmed = edited(changed, {
      nodeSelector: { 'inference-pool': pool },
      resources: { requests: { memory: '8Gi' }, limits: { memory: '16Gi', gpu: 1 } },
    });
    await cluster.rollOut(trimmed, Date.now());
    await settled();
    const trimmedRead = await cluster.getManagedDeployment(ref);
    expect(trimmedRead?.template).toMatchObject({
      nodeSelector: { 'inference-pool': pool },
      requests: { memory: '8Gi', 'nvidia.com/gpu': '1' },
      limits: { memory: '16Gi', 'nvidia.com/gpu': '1' },
    });
    expect(sameTemplate(trimmedRead!.template, podTemplateFor(trimmed))).toBe(true);
    // Metadata the control plane wrote survives a rollout.
    expect(trimmedRead).toMatchObject({ memoryAnnotation: '16Gi', scaledUpAt: expect.any(Number) });
  });

  it('says why pods do not start in the scheduler’s words, and nothing for a ready pod', async () => {
    const model = await listed('llama');
    const ref = { namespace, name: 'llama' };
    await expect(cluster.startProblems(ref)).resolves.toEqual(new Map());

    const nowhere = edited(model, { nodeSelector: { 'inference-pool': `nowhere-${suffix}` } });
    await cluster.rollOut(nowhere, Date.now());
    const problems = await eventually(
      'an unschedulable pod',
      () => cluster.startProblems(ref),
      (found) => found.size > 0,
    );
    expect([...problems.keys()]).toEqual([`${namespace}/llama`]);
    expect(problems.get(`${namespace}/llama`)).toMatch(
      /^pod llama-[a-z0-9]+-[a-z0-9]+ cannot be scheduled: 0\/\d+ nodes are available: .*didn't match Pod's node affinity\/selector/,
    );
    // The namespace-wide form finds the same.
    const scoped = new KubernetesCluster(kubeConfigEndpoint(config), { namespaces: [namespace] });
    await expect(scoped.startProblems()).resolves.toEqual(problems);

    // Back on the pool: the pod runs, and there is nothing to say.
    await cluster.rollOut(model, Date.now());
    await settled();
    await expect(cluster.startProblems(ref)).resolves.toEqual(new Map());
  });

  it('writes status through the status subresource and reads it back', async () => {
    const model = await listed('llama');
    const status: InferenceModelStatus = {
      ready: true,
      replicas: 1,
      observedGeneration: model.generation,
      recommendation: 'Consider reducing memory from 16Gi to 12Gi (observed peak 10Gi, 31% overprovisioned)',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Deployed',
          message: 'model is serving',
          lastTransitionTime: '2030-01-02T03:04:05Z',
          observedGeneration: model.generation,
        },
      ],
    };
    await cluster.patchStatus(model, status);
    await expect(cluster.getModel(model)).resolves.toMatchObject({ status });

    // A key given as undefined is removed; keys not given stay.
    await cluster.patchStatus(model, { recommendation: undefined });
    const { status: after } = (await cluster.getModel(model)) as InferenceModel;
    expect(after.recommendation).toBeUndefined();
    expect(after).toMatchObject({ ready: true, replicas: 1, conditions: status.conditions });

    await expect(
      cluster.patchStatus({ ...model, name: 'absent' }, { ready: false }),
    ).resolves.toBeUndefined();
  });

  it('emits an Event on the InferenceModel', async () => {
    const reason = `AdapterTest${suffix.replace(/[^a-z0-9]/g, '')}`;
    await cluster.emitEvent({
      model: { namespace, name: 'llama' },
      type: 'Normal',
      reason,
      message: 'scaled up to 1',
    });
    const events = JSON.parse(
      await kubectl('get', 'events', '-n', namespace, '--field-selector', `reason=${reason}`, '-o', 'json'),
    ) as { items: Record<string, unknown>[] };
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      type: 'Normal',
      reason,
      message: 'scaled up to 1',
      count: 1,
      reportingComponent: 'inference-budget-control-plane',
      source: { component: 'inference-budget-control-plane' },
      involvedObject: {
        apiVersion: 'inference.eh-ops.io/v1alpha1',
        kind: 'InferenceModel',
        namespace,
        name: 'llama',
      },
    });
    expect(String((events.items[0]?.metadata as { name: string }).name)).toMatch(/^llama\./);
  });

  it('lists managed Deployments of all namespaces in one call', async () => {
    const before = cluster.apiCalls;
    const deployments = await cluster.listManagedDeployments();
    expect(cluster.apiCalls - before).toBe(1);
    expect(deployments.filter((d) => d.namespace === namespace)).toEqual([
      expect.objectContaining({ name: 'llama', replicas: 1, memoryAnnotation: '16Gi' }),
    ]);
  });

  it('lists a single namespace, still one call per kind, when given one', async () => {
    const scoped = new KubernetesCluster(kubeConfigEndpoint(config), { namespaces: [namespace] });
    const models = await scoped.listModels();
    const deployments = await scoped.listManagedDeployments();
    expect(scoped.apiCalls).toBe(2);
    expect(models.map((m) => `${m.namespace}/${m.name}`).sort()).toEqual([
      `${namespace}/llama`,
      `${namespace}/minimal`,
    ]);
    expect(deployments.map((d) => `${d.namespace}/${d.name}`)).toEqual([`${namespace}/llama`]);
  });

  it('reaches the apiserver from an EKS-style endpoint, CA data and bearer token', async () => {
    const eks = new KubernetesCluster(
      eksEndpoint({
        endpoint: harnessEnv('IBCP_KUBE_SERVER'),
        certificateAuthorityData: config.getCurrentCluster()?.caData ?? '',
        token: harnessEnv('IBCP_KUBE_TOKEN'),
      }),
      { namespaces: [namespace] },
    );
    await expect(eks.getModel({ namespace, name: 'llama' })).resolves.toMatchObject({ name: 'llama' });
  });

  it('reaches the apiserver from a kubeconfig whose exec plugin gives the token, run again once it expired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibcp-exec-'));
    const runs = join(dir, 'runs');
    // Already expired when issued: KubeConfig runs the plugin again for every request.
    const credential = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: harnessEnv('IBCP_KUBE_TOKEN'), expirationTimestamp: '2020-01-01T00:00:00Z' },
    });
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          {
            name: 'harness',
            cluster: {
              server: harnessEnv('IBCP_KUBE_SERVER'),
              'certificate-authority-data': config.getCurrentCluster()?.caData,
            },
          },
        ],
        users: [
          {
            name: 'plugin',
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1',
                command: 'sh',
                args: ['-c', `echo run >> ${runs}; echo '${credential}'`],
                interactiveMode: 'Never',
              },
            },
          },
        ],
        contexts: [{ name: 'harness', context: { cluster: 'harness', user: 'plugin' } }],
        'current-context': 'harness',
      }),
    );
    const viaPlugin = new KubernetesCluster(await kubeconfigFileEndpoint(kubeconfig), {
      namespaces: [namespace],
    });
    await expect(viaPlugin.getModel({ namespace, name: 'llama' })).resolves.toMatchObject({ name: 'llama' });
    await expect(viaPlugin.listModels()).resolves.toContainEqual(expect.objectContaining({ name: 'llama' }));
    expect((await readFile(runs, 'utf8')).trim().split('\n')).toHaveLength(2);
  });

  it('deletes Deployments and removes finalizers idempotently, also when the object is gone', async () => {
    await cluster.deleteDeployment({ namespace, name: 'llama' });
    await cluster.deleteDeployment({ namespace, name: 'llama' });
    await cluster.deleteDeployment({ namespace, name: 'absent' });

    await custom.deleteNamespacedCustomObject({ ...INFERENCE_MODELS, namespace, name: 'minimal' });
    const deleting = await cluster.getModel({ namespace, name: 'minimal' });
    expect(deleting).toMatchObject({ deleting: true, finalizers: [FINALIZER] });
    await cluster.removeFinalizer(deleting as InferenceModel);
    await expect(cluster.getModel({ namespace, name: 'minimal' })).resolves.toBeUndefined();
    // Gone already: the stale snapshot's patch gets 404, which is success.
    await cluster.removeFinalizer(deleting as InferenceModel);

    // The other controller's finalizer stays.
    await cluster.removeFinalizer(await listed('llama'));
    expect((await cluster.getModel({ namespace, name: 'llama' }))?.finalizers).toEqual([OTHER_FINALIZER]);
  });
});
