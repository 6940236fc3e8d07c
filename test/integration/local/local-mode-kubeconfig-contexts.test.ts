// Local mode governing two existing clusters from two contexts of one kubeconfig
// (`LOCAL_KUBECONFIG_CONTEXTS=east,west`): two Kubernetes of this file's own stand in for a developer's
// clusters. Local mode must install deploy/ in both, keep each cluster's budget its own in its one ledger,
// create no nodes, register no webhook, and refuse a context the kubeconfig lacks.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { repoRoot, runKubectl } from '../../../services/kubectl.js';
import { startKubernetes } from '../../../services/kubernetes.js';
import type { StartedService } from '../../../services/service.js';
import {
  eventually,
  freePorts,
  getJson,
  LocalMode,
  ONE_GPU_POOL,
  START_TIMEOUT_MS,
  type PoolView,
  type Ports,
} from '../../support/local-mode.js';

const run = promisify(execFile);
const Gi = 2 ** 30;

let dir: string;
let clusters: Record<'east' | 'west', StartedService>;
let kubeconfig: string;
let ports: Ports;
let local: LocalMode;

/** One kubeconfig holding both clusters, each under a context named after it, as `kubectl config` makes. */
function merged(): string {
  const parts = (['east', 'west'] as const).map((name) => {
    const config = new KubeConfig();
    config.loadFromFile(clusters[name].env.IBCP_KUBECONFIG!);
    const context = config.getContextObject(config.getCurrentContext())!;
    return {
      cluster: { ...config.getCluster(context.cluster)!, name },
      user: { ...config.getUser(context.user)!, name },
      context: { name, cluster: name, user: name },
    };
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: parts.map((p) => p.cluster),
    users: parts.map((p) => p.user),
    contexts: parts.map((p) => p.context),
    currentContext: 'east',
  });
  return config.exportConfig();
}

async function kubectl(cluster: 'east' | 'west', args: string[], input?: string): Promise<string> {
  const result = await runKubectl(
    clusters[cluster].env.IBCP_KUBECTL!,
    kubeconfig,
    ['--context', cluster, ...args],
    input,
  );
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} on ${cluster}: ${result.stderr}`);
  return result.stdout;
}

const grouped = () =>
  getJson<{ clusters: { name: string; pools: PoolView[] }[] }>(`http://127.0.0.1:${ports.api}/v1/pools`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ibcp-contexts-'));
  const [east, west] = await Promise.all([
    startKubernetes(join(dir, 'east')),
    startKubernetes(join(dir, 'west')),
  ]);
  clusters = { east, west };
  kubeconfig = join(dir, 'kubeconfig.yaml');
  await writeFile(kubeconfig, merged(), { mode: 0o600 });
  ports = await freePorts();
  local = await LocalMode.start(join(dir, 'data'), ports, {
    KUBECONFIG: kubeconfig,
    LOCAL_KUBECONFIG_CONTEXTS: 'east,west',
    LOCAL_POOLS: ONE_GPU_POOL,
  });
}, START_TIMEOUT_MS);

afterAll(async () => {
  // Ctrl-C, so local mode stops the services it started (a SIGKILL would leave them running).
  await local?.stop();
  await Promise.all(Object.values(clusters ?? {}).map((cluster) => cluster.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe('local mode with LOCAL_KUBECONFIG_CONTEXTS (several existing clusters)', () => {
  it('governs both contexts as clusters named after them: deploy/ in each, no nodes, no webhook', async () => {
    expect(local.stderr).toContain(`using the contexts east, west of KUBECONFIG=${kubeconfig}`);
    expect(local.stdout).toContain('webhook       not registered');
    for (const cluster of ['east', 'west'] as const) {
      expect(
        await kubectl(cluster, ['get', 'crd', 'inferencemodels.inference.eh-ops.io', '-o', 'name']),
      ).toBe('customresourcedefinition.apiextensions.k8s.io/inferencemodels.inference.eh-ops.io\n');
      expect(await kubectl(cluster, ['get', 'nodes', '-o', 'name'])).toBe('');
    }
    const body = await grouped();
    expect(body.clusters.map((c) => [c.name, c.pools.map((p) => p.totalBytes)])).toEqual([
      ['east', [80 * Gi]],
      ['west', [80 * Gi]],
    ]);
  });

  it("allocates a model of one context from that cluster's budget only", async () => {
    const model = {
      apiVersion: 'inference.eh-ops.io/v1alpha1',
      kind: 'InferenceModel',
      metadata: { name: 'llama', namespace: 'default' },
      spec: {
        modelName: 'llama',
        memory: '32Gi',
        backendUrl: 'http://llama.default.svc:8000',
        containerImage: 'vllm/vllm-openai:v0.6.0',
        nodeSelector: { 'inference-pool': 'gpu' },
      },
    };
    await kubectl('west', ['apply', '-f', '-'], JSON.stringify(model));
    await eventually('llama holds 32Gi of west and nothing of east', async () => {
      const [east, west] = (await grouped()).clusters.map((c) => c.pools[0]!.allocatedBytes);
      return west === 32 * Gi && east === 0;
    });
    await expect(
      getJson(`http://127.0.0.1:${ports.api}/v1/clusters/west/models/default/llama`),
    ).resolves.toMatchObject({ name: 'llama', memory: '32Gi' });
  });

  it('refuses a context the kubeconfig lacks, naming the ones it has', async () => {
    const started = await run(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
      cwd: repoRoot,
      env: {
        ...Object.fromEntries(
          ['PATH', 'HOME', 'IBCP_CACHE_DIR'].flatMap((name) => {
            const value = process.env[name];
            return value === undefined ? [] : [[name, value]];
          }),
        ),
        LOCAL_DATA_DIR: join(dir, 'other-data'),
        ...Object.fromEntries(
          Object.entries(await freePorts()).map(([name, port]) => [
            `LOCAL_${name.toUpperCase()}_PORT`,
            String(port),
          ]),
        ),
        KUBECONFIG: kubeconfig,
        LOCAL_KUBECONFIG_CONTEXTS: 'east,north',
      },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(`kubeconfig ${kubeconfig} has no context "north" (it has: east, west)`);
  }, 120_000);
});
