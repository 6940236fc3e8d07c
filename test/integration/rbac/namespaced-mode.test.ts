// Namespaced mode (docs/deploy.md): deploy/namespaced/ grants nothing on namespaced resources, and
// deploy/rbac/namespace/ applied in a governed namespace gives each group its rules there only. Other
// test files install the cluster-wide bindings for the real group names in the same apiserver, so the
// rights are checked on a copy of the same manifests whose names carry this file's own prefix.
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import { endpointFromFile } from '../../../services/kube-config.js';
import { statusOf } from '../../../lambdas/adapters/kubernetes-api.js';
import { KubernetesMoeWorkloads } from '../../../lambdas/adapters/kubernetes-moe-workloads.js';
import { KubernetesPoolNodes } from '../../../lambdas/adapters/kubernetes-pool-nodes.js';
import { kubernetesInstallCommands } from '../../../lib/cluster-access.js';
import { createGpuNode } from '../../../services/gpu-nodes.js';
import { harnessEnv } from '../../../services/service.js';
import {
  applyInferenceModel,
  installDeploy,
  kubectl,
  kubectlOk,
  uniqueName,
} from '../../../services/kubectl.js';
import { identityInGroup, type KubernetesIdentity } from '../../support/kubernetes-identity.js';

const governed = uniqueName('governed');
const other = uniqueName('not-governed');
const prefix = uniqueName('nsmode');
const pool = uniqueName('pool-ns');
let reconcile: KubernetesIdentity;
let warmUp: KubernetesIdentity;
let remediation: KubernetesIdentity;

/** `kubectl kustomize <dir>` with the manifests' `inference-budget-` names given this file's prefix. */
async function renamed(dir: string): Promise<string> {
  return (await kubectlOk(['kustomize', dir])).replaceAll('inference-budget-', `${prefix}-`);
}

async function status(request: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await request;
    return 'ok';
  } catch (error) {
    const code = statusOf(error);
    if (code !== undefined) return code;
    throw error;
  }
}

beforeAll(async () => {
  await installDeploy();
  for (const namespace of [governed, other]) {
    await kubectlOk(['create', 'namespace', namespace]);
    await applyInferenceModel({ namespace, name: 'llama' }, { memory: '16Gi', pool });
    await kubectlOk([
      'create',
      'configmap',
      'training-config',
      '-n',
      namespace,
      '--from-literal=batch_size=32',
    ]);
  }
  await createGpuNode(harnessEnv('IBCP_KUBECONFIG'), { name: `${pool}-node`, pool, gpus: 1 });
  await kubectlOk(['apply', '-f', '-'], await renamed('deploy/rbac/nodes'));
  await kubectlOk(['apply', '-n', governed, '-f', '-'], await renamed('deploy/rbac/namespace'));
  reconcile = await identityInGroup(`${prefix}-reconcile`, uniqueName('reconcile'));
  warmUp = await identityInGroup(`${prefix}-warm-up`, uniqueName('warm-up'));
  remediation = await identityInGroup(`${prefix}-remediation`, uniqueName('remediation'));
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', governed, other, '--wait=false']);
  await kubectl(['delete', 'node', `${pool}-node`, '--wait=false']);
  await kubectl([
    'delete',
    'clusterrole,clusterrolebinding',
    `${prefix}-reconcile-nodes`,
    `${prefix}-warm-up-nodes`,
  ]);
});

describe('namespaced mode', () => {
  it("installs with the stack's KubernetesInstall commands: -n puts the Roles in the governed namespace", async () => {
    const [base, ...perNamespace] = kubernetesInstallCommands([governed]);
    expect(perNamespace).toEqual([`kubectl apply -n ${governed} -k deploy/rbac/namespace/`]);
    const dryRun = await kubectlOk([...base!.split(' ').slice(1), '--dry-run=server', '-o', 'name']);
    expect(dryRun.trim().split('\n').sort()).toEqual([
      'clusterrole.rbac.authorization.k8s.io/inference-budget-reconcile-nodes',
      'clusterrole.rbac.authorization.k8s.io/inference-budget-warm-up-nodes',
      'clusterrolebinding.rbac.authorization.k8s.io/inference-budget-reconcile-nodes',
      'clusterrolebinding.rbac.authorization.k8s.io/inference-budget-warm-up-nodes',
      'customresourcedefinition.apiextensions.k8s.io/inferencemodels.inference.eh-ops.io',
      'validatingadmissionpolicy.admissionregistration.k8s.io/inference-budget-control-plane-deployments',
      'validatingadmissionpolicybinding.admissionregistration.k8s.io/inference-budget-control-plane-deployments',
    ]);
    await kubectlOk(perNamespace[0]!.split(' ').slice(1));
    const created = await kubectlOk(['get', 'roles,rolebindings', '-n', governed, '-o', 'name']);
    expect(
      created
        .trim()
        .split('\n')
        .filter((name) => name.includes('/inference-budget-'))
        .sort(),
    ).toEqual([
      'role.rbac.authorization.k8s.io/inference-budget-reconcile',
      'role.rbac.authorization.k8s.io/inference-budget-remediation',
      'role.rbac.authorization.k8s.io/inference-budget-warm-up',
      'role.rbac.authorization.k8s.io/inference-budget-webhook',
      'rolebinding.rbac.authorization.k8s.io/inference-budget-reconcile',
      'rolebinding.rbac.authorization.k8s.io/inference-budget-remediation',
      'rolebinding.rbac.authorization.k8s.io/inference-budget-warm-up',
      'rolebinding.rbac.authorization.k8s.io/inference-budget-webhook',
    ]);
  });

  it('reconcile and warm-up work in the governed namespace, and the node scaler on nodes, through the adapters', async () => {
    const endpoint = endpointFromFile(reconcile.kubeconfig);
    const cluster = new KubernetesCluster(endpoint, { namespaces: [governed] });
    const [model] = await cluster.listModels();
    expect(model).toMatchObject({ namespace: governed, name: 'llama' });
    await cluster.addFinalizer(model!);
    await cluster.createDeployment(model!, 0, Date.now());
    expect(await cluster.listManagedDeployments()).toEqual([expect.objectContaining({ name: 'llama' })]);
    const nodes = new KubernetesPoolNodes(endpoint, { namespaces: [governed] });
    expect((await nodes.list(pool)).map((n) => n.name)).toEqual([`${pool}-node`]);
    await nodes.markEmptySince(`${pool}-node`, Date.now());
    const warm = new KubernetesCluster(endpointFromFile(warmUp.kubeconfig), { namespaces: [governed] });
    await warm.scaleDeployment(model!, 1, Date.now());
    expect(
      await new KubernetesPoolNodes(endpointFromFile(warmUp.kubeconfig), { namespaces: [governed] }).list(
        pool,
      ),
    ).toHaveLength(1);
    await cluster.removeFinalizer(model!);
  });

  it('grants nothing outside the governed namespace, nor any cluster-wide list of namespaced resources', async () => {
    const endpoint = endpointFromFile(reconcile.kubeconfig);
    const elsewhere = new KubernetesCluster(endpoint, { namespaces: [other] });
    expect(await status(elsewhere.listModels())).toBe(403);
    expect(await status(elsewhere.listManagedDeployments())).toBe(403);
    const clusterWide = new KubernetesCluster(endpoint);
    expect(await status(clusterWide.listModels())).toBe(403);
    expect(await status(clusterWide.listManagedDeployments())).toBe(403);
    // Counting pods on a node across the cluster needs the cluster-wide mode.
    expect(await status(new KubernetesPoolNodes(endpoint).list(pool))).toBe(403);
    expect(await status(new KubernetesPoolNodes(endpoint, { namespaces: [other] }).list(pool))).toBe(403);
  });

  it('remediation edits the playbook ConfigMaps of the governed namespace only', async () => {
    const moe = new KubernetesMoeWorkloads(endpointFromFile(remediation.kubeconfig), {
      namespaces: [governed],
    });
    const config = await moe.readConfigMap(governed, 'training-config');
    expect(config?.data).toEqual({ batch_size: '32' });
    await moe.patchConfigMap(config!, { batch_size: '16' });
    const elsewhere = new KubernetesMoeWorkloads(endpointFromFile(remediation.kubeconfig), {
      namespaces: [other],
    });
    expect(await status(elsewhere.readConfigMap(other, 'training-config'))).toBe(403);
    expect(await status(elsewhere.listWorkloads())).toBe(403);
  });
});
