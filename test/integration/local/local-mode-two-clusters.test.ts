// Local mode of two clusters (`LOCAL_CLUSTERS=2`), as a user runs it: two Kubernetes of its own (each its
// kube-apiserver and KWOK GPU nodes), one ledger, one set of handlers per cluster. Driven only through
// what it prints, the kubectl and kubeconfigs it names, the warm-up API and /metrics over HTTP.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, runKubectl, type KubectlResult } from '../../../services/kubectl.js';
import {
  eventually,
  freePorts,
  getJson,
  LocalMode,
  modelManifest,
  ONE_GPU_POOL,
  START_TIMEOUT_MS,
  type PoolView,
  type Ports,
} from '../../support/local-mode.js';

const run = promisify(execFile);
const Gi = 2 ** 30;

let dataDir: string;
let ports: Ports;
let local: LocalMode;

/** `cluster       local-2: KUBECONFIG=<path>` of the printed text. */
function kubeconfigOf(cluster: string): string {
  const match = new RegExp(`cluster +${cluster}: KUBECONFIG=(\\S+)`).exec(local.stdout);
  if (!match) throw new Error(`local mode printed no kubeconfig for ${cluster}:\n${local.stdout}`);
  return match[1]!;
}

function kubectl(cluster: string, args: string[], input?: string): Promise<KubectlResult> {
  const kubectlDir = local.exported('PATH').replace(/:\$PATH$/, '');
  return runKubectl(join(kubectlDir, 'kubectl'), kubeconfigOf(cluster), args, input);
}

interface Grouped {
  clusters: { name: string; pools: PoolView[] }[];
  pools: (PoolView & { cluster: string })[];
}

const grouped = () => getJson<Grouped>(`http://127.0.0.1:${ports.api}/v1/pools`);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ibcp-local-two-clusters-'));
  ports = await freePorts();
  local = await LocalMode.start(dataDir, ports, { LOCAL_CLUSTERS: '2', LOCAL_POOLS: ONE_GPU_POOL });
}, START_TIMEOUT_MS);

afterAll(async () => {
  // Ctrl-C, so local mode stops the services it started (a SIGKILL would leave them running).
  await local?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('local mode of two clusters (LOCAL_CLUSTERS=2)', () => {
  it('starts two clusters, each with its own API server and GPU node, and prints both', async () => {
    const [one, two] = [kubeconfigOf('local-1'), kubeconfigOf('local-2')];
    expect(one).not.toBe(two);
    for (const cluster of ['local-1', 'local-2']) {
      const nodes = await kubectl(cluster, ['get', 'nodes', '-o', 'name']);
      expect(nodes.stdout).toBe('node/gpu-0\n');
    }
    const body = await grouped();
    expect(body.clusters.map((c) => [c.name, c.pools.map((p) => [p.name, p.totalBytes])])).toEqual([
      ['local-1', [['gpu', 80 * Gi]]],
      ['local-2', [['gpu', 80 * Gi]]],
    ]);
  });

  it("governs each cluster's models against its own budget", async () => {
    const applied = await kubectl('local-2', ['apply', '-f', '-'], modelManifest('llama', '48Gi', 1, 'gpu'));
    expect(applied.stderr).toBe('');
    await eventually('llama holds 48Gi of local-2, nothing of local-1', async () => {
      const [one, two] = (await grouped()).clusters.map((c) => c.pools[0]!);
      return two!.allocatedBytes === 48 * Gi && one!.allocatedBytes === 0;
    });
    // 48Gi more would not fit local-2's pool, and fits local-1's: the budgets are not shared.
    await kubectl('local-1', ['apply', '-f', '-'], modelManifest('mistral', '48Gi', 1, 'gpu'));
    await eventually('mistral holds 48Gi of local-1', async () => {
      const [one] = (await grouped()).clusters.map((c) => c.pools[0]!);
      return one!.allocations.map((a) => a.holder).join() === 'default/mistral';
    });
    await eventually('llama Ready in local-2', async () => {
      const model = await getJson<{ ready: boolean }>(
        `http://127.0.0.1:${ports.api}/v1/clusters/local-2/models/default/llama`,
      );
      return model.ready;
    });
  });

  it('routes the warm-up API by cluster: a model of local-2 is not found in local-1', async () => {
    const missing = await fetch(`http://127.0.0.1:${ports.api}/v1/clusters/local-1/models/default/llama`);
    expect(missing.status).toBe(404);
    const unknown = await fetch(`http://127.0.0.1:${ports.api}/v1/clusters/local-3/models/default/llama`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({
      error: { message: 'Cluster "local-3" is not governed by this control plane' },
    });
  });

  it("registers the webhook with each cluster's API server, each with its own secret", async () => {
    for (const cluster of ['local-1', 'local-2']) {
      const run = await kubectl(cluster, ['apply', '-f', '-'], modelManifest('h100', '16Gi', 1, 'gpu-h100'));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('denied the request: node pool "gpu-h100"');
    }
  });

  it('labels every series of /metrics with its cluster', async () => {
    const text = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    const allocated = text
      .split('\n')
      .filter((line) => line.startsWith('inference_budget_allocated_bytes{'))
      .map((line) => [/cluster="([^"]+)"/.exec(line)?.[1], Number(line.split(' ').pop())])
      .sort();
    expect(allocated).toEqual([
      ['local-1', 48 * Gi],
      ['local-2', 48 * Gi],
    ]);
  });

  it('refuses a bad LOCAL_CLUSTERS with a message naming it, before starting anything', async () => {
    const started = await run(join(repoRoot, 'node_modules', '.bin', 'tsx'), ['local/start.ts'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, LOCAL_DATA_DIR: dataDir, LOCAL_CLUSTERS: 'two' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(
      'LOCAL_CLUSTERS must be a whole number of clusters from 1 to 4, got "two"',
    );
  });
});
