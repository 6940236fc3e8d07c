// Local mode with KUBECONFIG naming a cluster it did not start: a Kubernetes of this file's own (the
// harness's, without GPU nodes) stands in for a developer's cluster. Local mode must install deploy/ there
// and govern its models, and must neither start a cluster, create nodes, register a webhook the cluster
// cannot call, nor stop the cluster on Ctrl-C.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubernetes } from '../../../services/kubernetes.js';
import type { StartedService } from '../../../services/service.js';
import {
  eventually,
  freePorts,
  LocalMode,
  pools,
  START_TIMEOUT_MS,
  type Ports,
} from '../../support/local-mode.js';
import { runKubectl } from '../../../services/kubectl.js';

let clusterDir: string;
let dataDir: string;
let cluster: StartedService;
let ports: Ports;
let local: LocalMode;
let kubeconfig: string;

/** The developer's own kubectl and kubeconfig. */
async function kubectlOk(args: string[], input?: string): Promise<string> {
  const run = await runKubectl(cluster.env.IBCP_KUBECTL!, kubeconfig, args, input);
  if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

beforeAll(async () => {
  clusterDir = await mkdtemp(join(tmpdir(), 'ibcp-existing-cluster-'));
  dataDir = await mkdtemp(join(tmpdir(), 'ibcp-local-mode-existing-'));
  cluster = await startKubernetes(clusterDir);
  kubeconfig = cluster.env.IBCP_KUBECONFIG!;
  ports = await freePorts();
  local = await LocalMode.start(dataDir, ports, { KUBECONFIG: kubeconfig });
}, START_TIMEOUT_MS);

afterAll(async () => {
  await local?.stop();
  await cluster?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(clusterDir, { recursive: true, force: true });
});

describe('local mode with KUBECONFIG (an existing cluster)', () => {
  it('starts no cluster and says the webhook is not registered; the printed commands use your kubectl', () => {
    expect(local.stderr).toContain(`using the cluster of KUBECONFIG=${kubeconfig}`);
    expect(local.stderr).not.toContain('kubernetes control plane ready');
    expect(local.stdout).toContain('webhook       not registered');
    expect(local.stdout).not.toContain('export KUBECONFIG=');
    expect(local.stdout).toContain('kubectl apply -f examples/ ');
  });

  it('installs deploy/ into the cluster, adds no nodes and no webhook configuration', async () => {
    expect(await kubectlOk(['get', 'crd', 'inferencemodels.inference.eh-ops.io', '-o', 'name'])).toBe(
      'customresourcedefinition.apiextensions.k8s.io/inferencemodels.inference.eh-ops.io\n',
    );
    expect(await kubectlOk(['get', 'nodes', '-o', 'name'])).toBe('');
    expect(
      await kubectlOk(['get', 'validatingwebhookconfigurations,mutatingwebhookconfigurations', '-o', 'name']),
    ).toBe('');
    const budget = await pools(ports);
    expect([...budget.keys()].sort()).toEqual(['default', 'gpu-a100']);
  });

  it("governs the cluster's models: allocates and deploys; with no GPU nodes the model waits unready", async () => {
    await kubectlOk(['apply', '-f', 'examples/llama-3-8b.yaml']);
    await eventually('Deployment llama-3-8b created with one replica', async () => {
      const run = await runKubectl(cluster.env.IBCP_KUBECTL!, kubeconfig, [
        'get',
        'deployment',
        'llama-3-8b',
        '-o',
        'jsonpath={.spec.replicas}',
      ]);
      return run.code === 0 && run.stdout === '1';
    });
    expect((await pools(ports)).get('gpu-a100')?.allocations.map((a) => a.holder)).toEqual([
      'default/llama-3-8b',
    ]);
    const model = JSON.parse(await kubectlOk(['get', 'inferencemodel', 'llama-3-8b', '-o', 'json'])) as {
      status?: { ready?: boolean };
    };
    expect(model.status?.ready).toBe(false);
  });

  it('leaves the cluster running on Ctrl-C', async () => {
    await local.interrupt();
    expect(await kubectlOk(['get', 'inferencemodels', '-o', 'name'])).toBe(
      'inferencemodel.inference.eh-ops.io/llama-3-8b\n',
    );
  });
});
