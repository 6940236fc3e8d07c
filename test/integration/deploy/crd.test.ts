// deploy/ against the harness's real kube-apiserver: the InferenceModel CRD (validation, defaults, printer
// columns, status subresource), manifests written for the original operator, and the control plane's RBAC.
import { loadYaml } from '@kubernetes/client-node';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import { endpointFromFile } from '../../../services/kube-config.js';
import type { InferenceModelStatus } from '../../../lambdas/core/inference-model.js';
import { KUBERNETES_GROUPS } from '../../../lib/cluster-access.js';
import {
  CRD_NAME,
  installDeploy,
  kubectl,
  kubectlOk,
  repoRoot,
  uniqueName,
  type KubectlResult,
} from '../../../services/kubectl.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import { CRD_SPEC_DEFAULTS, inferenceModelWithSpec } from '../../support/builders.js';

const examplesDir = join(repoRoot, 'examples', 'original-operator');

const namespace = uniqueName('crd-test');

interface InferenceModelManifest {
  metadata: { name: string; generation: number };
  spec: Record<string, unknown>;
  status?: Record<string, unknown>;
}

async function getModel(name: string): Promise<InferenceModelManifest> {
  return JSON.parse(await kubectlOk(['get', 'inferencemodel', name, '-n', namespace, '-o', 'json']));
}

/** Rows of `kubectl get` human output, cut at the header's column starts (empty cells stay empty). */
function table(output: string): { header: string[]; rows: Record<string, string>[] } {
  const [headerLine = '', ...lines] = output.trimEnd().split('\n');
  const starts = [...headerLine.matchAll(/\S+/g)].map((m) => m.index);
  const header = starts.map((start, i) => headerLine.slice(start, starts[i + 1]).trim());
  const rows = lines.map((line) =>
    Object.fromEntries(header.map((name, i) => [name, line.slice(starts[i], starts[i + 1]).trim()])),
  );
  return { header, rows };
}

describe('deploy/: InferenceModel CRD and control-plane RBAC on a real apiserver', () => {
  const applied = new Map<string, KubectlResult>();
  const manifests = new Map<string, InferenceModelManifest>();

  beforeAll(async () => {
    await installDeploy();
    await kubectlOk(['create', 'namespace', namespace]);
    // Applied exactly as written, file by file, the way a model owner would.
    for (const file of (await readdir(examplesDir)).filter((f) => f.endsWith('.yaml')).sort()) {
      const path = join(examplesDir, file);
      const manifest = loadYaml<InferenceModelManifest>(await readFile(path, 'utf8'));
      manifests.set(manifest.metadata.name, manifest);
      applied.set(manifest.metadata.name, await kubectl(['apply', '-n', namespace, '-f', path]));
    }
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  it('installs with `kubectl apply -k deploy/`, and applying again changes nothing', async () => {
    const again = await installDeploy();
    const lines = again.trim().split('\n');
    expect(lines.filter((line) => !line.endsWith(' unchanged'))).toEqual([]);
    const roles = ['reconcile', 'reconcile-nodes', 'warm-up', 'warm-up-nodes', 'remediation', 'webhook'];
    expect(lines.map((line) => line.replace(/ unchanged$/, '')).sort()).toEqual(
      [
        `customresourcedefinition.apiextensions.k8s.io/${CRD_NAME}`,
        ...roles.map((role) => `clusterrole.rbac.authorization.k8s.io/inference-budget-${role}`),
        ...roles.map((role) => `clusterrolebinding.rbac.authorization.k8s.io/inference-budget-${role}`),
        'validatingadmissionpolicy.admissionregistration.k8s.io/inference-budget-control-plane-deployments',
        'validatingadmissionpolicybinding.admissionregistration.k8s.io/inference-budget-control-plane-deployments',
      ].sort(),
    );
  });

  it('applies the original operator’s manifests unchanged, keeping every field and filling in defaults', async () => {
    expect([...manifests.keys()].sort()).toEqual(['codellama-34b', 'llama-2-7b', 'mistral-7b']);
    for (const [name, manifest] of manifests) {
      const result = applied.get(name);
      expect({ name, code: result?.code, stderr: result?.stderr }).toEqual({ name, code: 0, stderr: '' });
      const stored = await getModel(name);
      // Nothing written in the manifest was pruned or rewritten.
      expect(stored.spec).toMatchObject(manifest.spec);
    }

    expect((await getModel('mistral-7b')).spec).toEqual({
      modelName: 'mistral-7b-instruct',
      memory: '15Gi',
      backendUrl: 'http://mistral-7b:8080',
      ...CRD_SPEC_DEFAULTS,
    });
    const llama = (await getModel('llama-2-7b')).spec;
    expect(llama).toMatchObject({
      nodeSelector: { 'inference-pool': 'gpu-a100' },
      cooldownPeriod: '5m',
      maxReplicas: 1,
      dependencies: [],
    });
    const codellama = (await getModel('codellama-34b')).spec;
    expect(codellama).toMatchObject({ cooldownPeriod: '1h30m', dependencies: ['llama-2-7b-chat'] });
  });

  const minimal = { modelName: 'm', memory: '16Gi', backendUrl: 'http://m:8000' };
  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['memory in GB', { ...minimal, memory: '80GB' }, /spec\.memory: Invalid value: "80GB".*Ki\|Mi\|Gi\|Ti/],
    ['no backendUrl', { modelName: 'm', memory: '16Gi' }, /spec\.backendUrl: Required value/],
    ['an empty modelName', { ...minimal, modelName: '' }, /spec\.modelName: Invalid value: "".*at least 1/],
    [
      'maxReplicas 5',
      { ...minimal, maxReplicas: 5 },
      /spec\.maxReplicas: Invalid value: 5.*less than or equal to 1/,
    ],
    [
      'a cooldown in words',
      { ...minimal, cooldownPeriod: 'ten minutes' },
      /spec\.cooldownPeriod: Invalid value: "ten minutes"/,
    ],
    ['an empty cooldown', { ...minimal, cooldownPeriod: '' }, /spec\.cooldownPeriod: Invalid value: ""/],
    [
      'a start deadline of zero',
      { ...minimal, startDeadline: '0s' },
      /spec\.startDeadline: Invalid value: "[^"]*": must be more than zero and at most 24h/,
    ],
    [
      'a start deadline over a day',
      { ...minimal, startDeadline: '24h1s' },
      /spec\.startDeadline: Invalid value: "[^"]*": must be more than zero and at most 24h/,
    ],
    [
      'a start deadline in Go fractions',
      { ...minimal, startDeadline: '1.5h' },
      /spec\.startDeadline: Invalid value: "1.5h"/,
    ],
    [
      'a backendUrl without scheme',
      { ...minimal, backendUrl: 'vllm:8000' },
      /spec\.backendUrl: Invalid value: "vllm:8000": must be an absolute http or https URL/,
    ],
    [
      'a GPU count in words',
      { ...minimal, resources: { limits: { gpu: 'one' } } },
      /spec\.resources\.limits\.gpu: Invalid value: "one"/,
    ],
    ['an unknown field', { ...minimal, replicas: 2 }, /unknown field "spec\.replicas"/],
    ['a priority above 1000', { ...minimal, priority: 1001 }, /spec\.priority: Invalid value: 1001/],
    ['a priority in words', { ...minimal, priority: 'high' }, /spec\.priority: Invalid value: "string"/],
  ];

  it.each(invalid)('refuses a model with %s, naming the field', async (_what, spec, message) => {
    const name = `invalid-${Math.random().toString(36).slice(2, 8)}`;
    const body = inferenceModelWithSpec(name, spec, namespace);
    const result = await kubectl(['apply', '-n', namespace, '-f', '-'], JSON.stringify(body));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    const lookup = await kubectl(['get', 'inferencemodel', name, '-n', namespace]);
    expect(lookup.stderr).toMatch(/NotFound/);
  });

  it('keeps a start deadline as written and adds none when it is unset', async () => {
    const name = `deadline-${Math.random().toString(36).slice(2, 8)}`;
    const body = inferenceModelWithSpec(name, { ...minimal, startDeadline: '1h30m' }, namespace);
    await kubectlOk(['apply', '-n', namespace, '-f', '-'], JSON.stringify(body));
    expect((await getModel(name)).spec.startDeadline).toBe('1h30m');
    await kubectlOk(['delete', 'inferencemodel', name, '-n', namespace]);
    expect((await getModel('mistral-7b')).spec).not.toHaveProperty('startDeadline');
  });

  it('keeps a priority as written and adds none when it is unset', async () => {
    const name = `priority-${Math.random().toString(36).slice(2, 8)}`;
    const body = inferenceModelWithSpec(name, { ...minimal, priority: -5 }, namespace);
    await kubectlOk(['apply', '-n', namespace, '-f', '-'], JSON.stringify(body));
    expect((await getModel(name)).spec.priority).toBe(-5);
    await kubectlOk(['delete', 'inferencemodel', name, '-n', namespace]);
    expect((await getModel('mistral-7b')).spec).not.toHaveProperty('priority');
  });

  it('lists models with NAME, READY, REPLICAS, MEMORY, POOL, PRIORITY and AGE columns', async () => {
    const output = await kubectlOk(['get', 'inferencemodels', '-n', namespace]);
    const { header, rows } = table(output);
    expect(header).toEqual(['NAME', 'READY', 'REPLICAS', 'MEMORY', 'POOL', 'PRIORITY', 'AGE']);
    const byName = Object.fromEntries(rows.map((row) => [row.NAME, row]));
    expect(byName['llama-2-7b']).toMatchObject({ MEMORY: '16Gi', POOL: 'gpu-a100' });
    expect(byName['codellama-34b']).toMatchObject({ MEMORY: '48Gi', POOL: 'gpu-a100' });
    expect(byName['mistral-7b']).toMatchObject({ MEMORY: '15Gi', POOL: 'default' });
    expect(byName['mistral-7b']?.AGE).toMatch(/^\d+[smhd]/);
    // The short name works too.
    expect(table(await kubectlOk(['get', 'im', '-n', namespace])).rows).toHaveLength(rows.length);
  });

  it('takes status through the status subresource only, as the control plane writes it', async () => {
    const before = await getModel('llama-2-7b');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = (type: string) => ({
      type,
      status: 'True',
      reason: 'Deployed',
      message: 'Deployment is ready and serving traffic',
      lastTransitionTime: now,
      observedGeneration: before.metadata.generation,
    });
    const status = {
      ready: true,
      replicas: 1,
      observedPeakMemory: '12Gi',
      utilizationPercent: 75,
      recommendation: 'Consider reducing memory from 16Gi to 14Gi (observed peak 12Gi, 25% overprovisioned)',
      lastObservation: now,
      observedGeneration: before.metadata.generation,
      conditions: [condition('Ready'), condition('Available')],
    };
    const patch = ['patch', 'inferencemodel', 'llama-2-7b', '-n', namespace, '--type=merge'];
    // Written as the reconcile Lambdas write it: a merge patch of the status subresource, as their group.
    const reconcile = new KubernetesCluster(endpointFromFile((await identityOf('reconcile')).kubeconfig));
    const model = await reconcile.getModel({ namespace, name: 'llama-2-7b' });
    await reconcile.patchStatus(model!, status as InferenceModelStatus);

    const after = await getModel('llama-2-7b');
    expect(after.status).toEqual(status);
    expect(after.metadata.generation).toBe(before.metadata.generation);
    const row = table(await kubectlOk(['get', 'inferencemodels', '-n', namespace])).rows.find(
      (r) => r.NAME === 'llama-2-7b',
    );
    expect(row).toMatchObject({ READY: 'true', REPLICAS: '1', POOL: 'gpu-a100' });

    // Status sent to the main resource is ignored; invalid status is refused.
    await kubectlOk([...patch, '-p', JSON.stringify({ status: { ready: false, replicas: 0 } })]);
    expect((await getModel('llama-2-7b')).status).toEqual(status);
    const refused = await kubectl([
      ...patch,
      '--subresource=status',
      '-p',
      JSON.stringify({ status: { utilizationPercent: 101 } }),
    ]);
    expect(refused.stderr).toMatch(/status\.utilizationPercent: Invalid value: 101/);
  });

  const cluster = (verb: string, resource: string): string[] => [verb, resource];
  const inNamespace = (verb: string, resource: string, ...extra: string[]): string[] => [
    verb,
    resource,
    ...extra,
    '-n',
    namespace,
  ];
  // What each group may do is checked call by call in test/integration/rbac/least-privilege.test.ts;
  // here, what no group of the control plane may do at all.
  const deniedToAll: string[][] = [
    inNamespace('create', 'inferencemodels.inference.eh-ops.io'),
    inNamespace('delete', 'inferencemodels.inference.eh-ops.io'),
    inNamespace('update', 'inferencemodels.inference.eh-ops.io', '--subresource=finalizers'),
    inNamespace('patch', 'deployments.apps', '--subresource=scale'),
    inNamespace('watch', 'deployments.apps'),
    inNamespace('delete', 'pods'),
    inNamespace('get', 'pods'),
    inNamespace('get', 'secrets'),
    inNamespace('list', 'secrets'),
    inNamespace('list', 'configmaps'),
    inNamespace('get', 'configmaps/some-other-config'),
    inNamespace('create', 'events.events.k8s.io'),
    cluster('watch', 'nodes'),
    cluster('get', 'nodes'),
    cluster('delete', 'nodes'),
    cluster('create', 'clusterroles.rbac.authorization.k8s.io'),
    cluster('create', 'clusterrolebindings.rbac.authorization.k8s.io'),
    cluster('delete', 'customresourcedefinitions.apiextensions.k8s.io'),
    cluster('delete', 'validatingadmissionpolicies.admissionregistration.k8s.io'),
  ];
  const groups = Object.values(KUBERNETES_GROUPS);

  it.each(groups.flatMap((group) => deniedToAll.map((args) => [group, args.join(' '), args] as const)))(
    'does not let %s %s',
    async (group, _what, args) => {
      const result = await kubectl(['auth', 'can-i', ...args, '--as=ibcp-lambda', `--as-group=${group}`]);
      expect(result.stdout.trim()).toBe('no');
    },
  );

  it('gives each group only its own role: the remediation group reads no model, the warm-up group deletes nothing', async () => {
    const canI = async (group: string, ...args: string[]) =>
      (
        await kubectl(['auth', 'can-i', ...args, '-n', namespace, '--as=ibcp-lambda', `--as-group=${group}`])
      ).stdout.trim();
    expect(await canI(KUBERNETES_GROUPS.remediation, 'get', 'inferencemodels.inference.eh-ops.io')).toBe(
      'no',
    );
    expect(await canI(KUBERNETES_GROUPS.remediation, 'patch', 'configmaps/training-config')).toBe('yes');
    expect(await canI(KUBERNETES_GROUPS.warmUp, 'delete', 'deployments.apps')).toBe('no');
    expect(await canI(KUBERNETES_GROUPS.warmUp, 'patch', 'nodes')).toBe('no');
    expect(await canI(KUBERNETES_GROUPS.reconcile, 'patch', 'nodes')).toBe('yes');
    expect(await canI(KUBERNETES_GROUPS.reconcile, 'patch', 'configmaps/training-config')).toBe('no');
  });

  it('grants nothing to a user outside the groups', async () => {
    const result = await kubectl([
      'auth',
      'can-i',
      'patch',
      'inferencemodels.inference.eh-ops.io',
      '--subresource=status',
      '-n',
      namespace,
      '--as=someone-else',
    ]);
    expect(result.stdout.trim()).toBe('no');
  });
});
