// deploy/admission-policy/ on the harness's real kube-apiserver: the control plane's groups may write
// only managed Deployments without host access (and change a declared MoE workload's replicas,
// annotations and environment only), while anyone else is not affected by the policy.
import type { V1Deployment } from '@kubernetes/client-node';
import { deploymentFor } from '../../../lambdas/adapters/kubernetes-cluster-mappers.js';
import { KubernetesCluster } from '../../../lambdas/adapters/kubernetes-cluster.js';
import { endpointFromFile } from '../../../services/kube-config.js';
import { KubernetesMoeWorkloads } from '../../../lambdas/adapters/kubernetes-moe-workloads.js';
import { ConflictError } from '../../../lambdas/core/moe/ports.js';
import type { InferenceModel } from '../../../lambdas/core/inference-model.js';
import { harnessEnv } from '../../../services/service.js';
import {
  applyInferenceModel,
  installDeploy,
  kubectl,
  kubectlOk,
  runKubectl,
  uniqueName,
  type KubectlResult,
} from '../../../services/kubectl.js';
import { identityInGroup, identityOf, type KubernetesIdentity } from '../../support/kubernetes-identity.js';
import { applyMoeExamples, deploymentJson } from '../../support/moe.js';

const namespace = uniqueName('admission-policy');
const POLICY = 'inference-budget-control-plane-deployments';
let reconcile: KubernetesIdentity;
let remediation: KubernetesIdentity;
let developer: KubernetesIdentity;
let model: InferenceModel;

const as = (identity: KubernetesIdentity, args: string[], input?: string): Promise<KubectlResult> =>
  runKubectl(harnessEnv('IBCP_KUBECTL'), identity.kubeconfig, [...args, '-n', namespace], input);

/** A server-side dry run of creating `deployment`: admission runs, nothing is stored. */
const tryCreate = (identity: KubernetesIdentity, deployment: V1Deployment) =>
  as(identity, ['create', '--dry-run=server', '-f', '-'], JSON.stringify(deployment));

/** The managed Deployment the control plane builds for `model`, changed by `edit`. */
function managed(edit: (deployment: V1Deployment) => void = () => undefined): V1Deployment {
  const deployment = deploymentFor(model, 1, Date.now());
  deployment.metadata!.name = uniqueName('variant');
  edit(deployment);
  return deployment;
}

const podSpec = (deployment: V1Deployment) => deployment.spec!.template.spec!;

beforeAll(async () => {
  await installDeploy();
  await kubectlOk(['create', 'namespace', namespace]);
  reconcile = await identityOf('reconcile');
  remediation = await identityOf('remediation');
  developer = await identityInGroup(uniqueName('team'), uniqueName('developer'));
  await kubectlOk([
    'create',
    'rolebinding',
    'developer-edits',
    '--clusterrole=edit',
    `--group=${developer.group}`,
    '-n',
    namespace,
  ]);
  await applyInferenceModel({ namespace, name: 'llama' }, { memory: '16Gi', pool: 'gpu-a100' });
  const cluster = new KubernetesCluster(endpointFromFile(reconcile.kubeconfig), {
    namespaces: [namespace],
  });
  model = (await cluster.getModel({ namespace, name: 'llama' }))!;
  // The policy is enforced once the apiserver has compiled it: until then an unmanaged create passes.
  const unmanaged = managed((d) => delete d.metadata!.labels!['inference.eh-ops.io/managed']);
  for (let attempt = 1; (await tryCreate(reconcile, unmanaged)).code === 0; attempt++) {
    if (attempt === 60) throw new Error(`${POLICY} is not enforced after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});

afterAll(async () => {
  await kubectl(['delete', 'namespace', namespace, '--wait=false']);
});

describe('ValidatingAdmissionPolicy on the Deployments the control plane writes', () => {
  it('type-checks its CEL without warnings', async () => {
    const policy = JSON.parse(
      await kubectlOk(['get', 'validatingadmissionpolicy', POLICY, '-o', 'json']),
    ) as {
      status?: { typeChecking?: { expressionWarnings?: unknown[] } };
    };
    expect(policy.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);
  });

  it('admits the managed Deployment the reconciler builds, its scaling and its deletion', async () => {
    const cluster = new KubernetesCluster(endpointFromFile(reconcile.kubeconfig), {
      namespaces: [namespace],
    });
    await cluster.createDeployment(model, 1, Date.now());
    await cluster.scaleDeployment(model, 0, Date.now());
    expect((await cluster.getManagedDeployment(model))?.replicas).toBe(0);
    await cluster.deleteDeployment(model);
  });

  const refused: Array<[string, (deployment: V1Deployment) => void, RegExp]> = [
    [
      'without the managed label',
      (d) => delete d.metadata!.labels!['inference.eh-ops.io/managed'],
      /may create only Deployments labelled inference\.eh-ops\.io\/managed=true/,
    ],
    [
      'with a privileged container',
      (d) => (podSpec(d).containers[0]!.securityContext = { privileged: true }),
      /may not run a privileged container/,
    ],
    [
      'with a privileged init container',
      (d) =>
        (podSpec(d).initContainers = [
          { name: 'init', image: 'busybox', securityContext: { privileged: true } },
        ]),
      /may not run a privileged container/,
    ],
    ['on the host network', (d) => (podSpec(d).hostNetwork = true), /host's network, PID or IPC namespace/],
    ['in the host PID namespace', (d) => (podSpec(d).hostPID = true), /host's network, PID or IPC namespace/],
    [
      'with a hostPath volume',
      (d) => (podSpec(d).volumes = [{ name: 'root', hostPath: { path: '/' } }]),
      /may not mount a hostPath volume/,
    ],
    [
      'with another service account',
      (d) => (podSpec(d).serviceAccountName = 'cluster-operator'),
      /runs as the default service account/,
    ],
  ];

  it.each(refused)('refuses the control plane a Deployment %s', async (_what, edit, message) => {
    const result = await tryCreate(reconcile, managed(edit));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`${POLICY}.*denied request`));
    expect(result.stderr).toMatch(message);
  });

  it.each(refused)(
    'does not affect other users: a developer may create a Deployment %s',
    async (_what, edit) => {
      const result = await tryCreate(developer, managed(edit));
      expect(result).toMatchObject({ code: 0, stderr: '' });
    },
  );

  it('refuses the control plane changing or deleting a Deployment it does not manage, even by labelling it', async () => {
    await as(developer, ['create', 'deployment', 'team-app', '--image=registry.example/app:1']);
    const scale = await as(reconcile, [
      'patch',
      'deployment',
      'team-app',
      '--type=merge',
      '-p',
      '{"spec":{"replicas":0}}',
    ]);
    expect(scale.stderr).toMatch(/may change only Deployments labelled/);
    const label = await as(reconcile, [
      'label',
      'deployment',
      'team-app',
      'inference.eh-ops.io/managed=true',
    ]);
    expect(label.stderr).toMatch(/may change only Deployments labelled/);
    const remove = await as(reconcile, ['delete', 'deployment', 'team-app']);
    expect(remove.stderr).toMatch(/may delete only Deployments labelled/);
    await kubectlOk(['get', 'deployment', 'team-app', '-n', namespace]);
  });

  it('lets remediation scale and restart a MoE workload, but not change its image or mount a host path', async () => {
    await applyMoeExamples(namespace);
    const moe = new KubernetesMoeWorkloads(endpointFromFile(remediation.kubeconfig), {
      namespaces: [namespace],
    });
    const trainer = { namespace, name: 'moe-trainer' };
    await moe.scale(trainer, 1);
    // The Deployment controller writes status after the scale: a restart that lost that race reads again.
    for (let attempt = 1; ; attempt++) {
      const restarted = await moe
        .restart(trainer, Date.now(), { CHECKPOINT_PATH: '/storage/checkpoints/step-1' })
        .then(() => true)
        .catch((error: unknown) => {
          if (error instanceof ConflictError && attempt < 5) return false;
          throw error;
        });
      if (restarted) break;
    }
    expect(
      (await deploymentJson(namespace, 'moe-trainer')).spec.template.spec.containers[0]?.env,
    ).toContainEqual({
      name: 'CHECKPOINT_PATH',
      value: '/storage/checkpoints/step-1',
    });
    const patch = (body: object) =>
      as(remediation, ['patch', 'deployment', 'moe-trainer', '--type=strategic', '-p', JSON.stringify(body)]);
    const image = await patch({
      spec: { template: { spec: { containers: [{ name: 'trainer', image: 'registry.example/miner:1' }] } } },
    });
    expect(image.stderr).toMatch(/on a MoE workload the control plane may change replicas, annotations/);
    const hostPath = await patch({
      spec: { template: { spec: { volumes: [{ name: 'host', hostPath: { path: '/' } }] } } },
    });
    expect(hostPath.stderr).toMatch(/on a MoE workload the control plane may change replicas, annotations/);
    // Creating a MoE workload is not the control plane's to do, even for the group that may create Deployments.
    const copy = JSON.parse(
      await kubectlOk(['get', 'deployment', 'moe-inference', '-n', namespace, '-o', 'json']),
    );
    const created = await tryCreate(reconcile, {
      ...copy,
      metadata: {
        name: 'moe-inference-2',
        labels: copy.metadata.labels,
        annotations: copy.metadata.annotations,
      },
      status: undefined,
    });
    expect(created.stderr).toMatch(
      /may create only Deployments labelled inference\.eh-ops\.io\/managed=true/,
    );
  });
});
