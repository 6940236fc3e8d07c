// Local mode end to end, as a user runs it: `tsx local/start.ts` (what `npm start` runs) in a child
// process with its own Kubernetes, ledger and ports, driven only through what it prints and its public
// surfaces: the kubectl and kubeconfig it names, the warm-up API and /metrics over HTTP, and a Prometheus
// that scrapes it. The harness's own services are not used, except Prometheus' binary.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQuantity } from '../../../lambdas/core/quantity.js';
import { startPrometheus } from '../../../services/prometheus.js';
import type { StartedService } from '../../../services/service.js';
import {
  eventually,
  freePorts,
  getJson,
  listening,
  LocalMode,
  modelManifest,
  pools,
  START_TIMEOUT_MS,
  type PoolView,
  type Ports,
} from '../../support/local-mode.js';
import { runKubectl, type KubectlResult } from '../../../services/kubectl.js';
import { OBSERVABILITY_SEED, seedFile, seedPromqlExamples } from '../../support/seeds.js';

const Gi = 2 ** 30;

// ---- the kubectl it names, Prometheus ------------------------------------------------------------------

function kubectl(local: LocalMode, args: string[], input?: string): Promise<KubectlResult> {
  // `export PATH=<dir>:$PATH` names the folder of the kubectl built for the local cluster.
  const kubectlDir = local.exported('PATH').replace(/:\$PATH$/, '');
  return runKubectl(join(kubectlDir, 'kubectl'), local.exported('KUBECONFIG'), args, input);
}

async function kubectlOk(local: LocalMode, args: string[], input?: string): Promise<string> {
  const run = await kubectl(local, args, input);
  if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

interface ModelObject {
  metadata: { name: string };
  spec: { memory: string };
  status?: { ready?: boolean; replicas?: number; observedPeakMemory?: string };
}

async function models(local: LocalMode): Promise<ModelObject[]> {
  const list = JSON.parse(await kubectlOk(local, ['get', 'inferencemodels', '-o', 'json'])) as {
    items: ModelObject[];
  };
  return list.items;
}

const holders = (pool: PoolView | undefined) => (pool?.allocations ?? []).map((a) => a.holder).sort();

type Expected = number | Record<string, number>;

/** A PromQL answer keyed like the expectations: a bare number, or values by `model` / `node_pool`. */
async function promql(prometheus: string, expr: string): Promise<Expected | string> {
  const url = new URL(`${prometheus}/api/v1/query`);
  url.searchParams.set('query', expr);
  const body = (await (await fetch(url)).json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success' || body.data?.resultType !== 'vector') return `error: ${body.error}`;
  const result = body.data.result;
  if (result.length === 1 && !result[0]!.metric.model && !result[0]!.metric.node_pool) {
    return round(Number(result[0]!.value[1]));
  }
  return Object.fromEntries(
    result.map((r) => [r.metric.model ?? r.metric.node_pool ?? '?', round(Number(r.value[1]))]),
  );
}
const round = (value: number) => Number(value.toPrecision(10));
/** Rounded like the answers, keys sorted: Prometheus returns series in no promised order. */
const canonical = (expected: Expected | string): Expected | string =>
  typeof expected === 'number'
    ? round(expected)
    : typeof expected === 'string'
      ? expected
      : Object.fromEntries(
          Object.entries(expected)
            .map(([k, v]) => [k, round(v)] as const)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        );

/**
 * What each of the seed's example queries must answer, worked out from what the warm-up API and kubectl
 * show right now.
 */
function seedAnswers(modelList: ModelObject[], poolList: PoolView[]): Map<string, Expected> {
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const byModel = (pick: (m: ModelObject) => number | undefined): Record<string, number> =>
    Object.fromEntries(
      modelList.flatMap((m) => {
        const value = pick(m);
        return value === undefined ? [] : [[m.metadata.name, value]];
      }),
    );
  const byPool = (pick: (p: PoolView) => number | undefined): Record<string, number> =>
    Object.fromEntries(
      poolList.flatMap((p) => {
        const value = pick(p);
        return value === undefined ? [] : [[p.name, value]];
      }),
    );
  const declared = (m: ModelObject) => parseQuantity(m.spec.memory);
  const peak = (m: ModelObject) =>
    m.status?.observedPeakMemory ? parseQuantity(m.status.observedPeakMemory) : undefined;
  const ratio = (m: ModelObject) => (peak(m) === undefined ? undefined : peak(m)! / declared(m));
  const ready = (m: ModelObject) => (m.status?.ready ? 1 : 0);
  const replicas = (m: ModelObject) => m.status?.replicas ?? 0;
  const ratios = Object.values(byModel(ratio));
  const declaredAll = modelList.map(declared);
  const below = (limit: number, pick: (m: ModelObject) => number | undefined) =>
    byModel((m) => {
      const v = pick(m);
      return v !== undefined && v < limit ? v : undefined;
    });
  return new Map<string, Expected>([
    ['inference_model_memory_declared_bytes', byModel(declared)],
    ['sum(inference_model_memory_declared_bytes)', sum(declaredAll)],
    ['inference_model_memory_observed_peak_bytes', byModel(peak)],
    [
      'inference_model_memory_observed_peak_bytes > 50 * 1024 * 1024 * 1024',
      byModel((m) => ((peak(m) ?? 0) > 50 * Gi ? peak(m) : undefined)),
    ],
    ['inference_model_memory_utilization_ratio < 0.7', below(0.7, ratio)],
    ['avg(inference_model_memory_utilization_ratio)', sum(ratios) / ratios.length],
    ['sum(inference_model_ready)', sum(modelList.map(ready))],
    ['inference_model_ready == 0', byModel((m) => (ready(m) === 0 ? 0 : undefined))],
    ['avg(inference_model_ready) * 100', (sum(modelList.map(ready)) / modelList.length) * 100],
    ['sum(inference_model_replicas)', sum(modelList.map(replicas))],
    ['inference_model_replicas == 0', byModel((m) => (replicas(m) === 0 ? 0 : undefined))],
    ['inference_budget_total_bytes', byPool((p) => p.totalBytes)],
    ['sum(inference_budget_total_bytes)', sum(poolList.map((p) => p.totalBytes))],
    ['inference_budget_allocated_bytes', byPool((p) => p.allocatedBytes)],
    [
      'inference_budget_allocated_bytes / inference_budget_total_bytes * 100',
      byPool((p) => (p.allocatedBytes / p.totalBytes) * 100),
    ],
    ['inference_budget_available_bytes', byPool((p) => p.availableBytes)],
    [
      'inference_budget_available_bytes < 20 * 1024 * 1024 * 1024',
      byPool((p) => (p.availableBytes < 20 * Gi ? p.availableBytes : undefined)),
    ],
    [
      'sum(inference_budget_allocated_bytes) / 1024 / 1024 / 1024  # in GiB',
      sum(poolList.map((p) => p.allocatedBytes)) / Gi,
    ],
    [
      'sum(inference_budget_available_bytes) / avg(inference_model_memory_declared_bytes)',
      sum(poolList.map((p) => p.availableBytes)) / (sum(declaredAll) / declaredAll.length),
    ],
  ]);
}

// ---- the scenario -------------------------------------------------------------------------------------

let dataDir: string;
let prometheusDir: string;
let ports: Ports;
let local: LocalMode;
let prometheus: StartedService | undefined;
const api = (path: string) => `http://127.0.0.1:${ports.api}${path}`;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ibcp-local-mode-'));
  prometheusDir = await mkdtemp(join(tmpdir(), 'ibcp-local-prometheus-'));
  ports = await freePorts();
  local = await LocalMode.start(dataDir, ports);
}, START_TIMEOUT_MS);

afterAll(async () => {
  await local?.stop();
  await prometheus?.stop();
  await rm(dataDir, { recursive: true, force: true });
  await rm(prometheusDir, { recursive: true, force: true });
});

describe('local mode (npm start)', () => {
  it('prints what to try, answers /healthz, and runs a cluster with GPU nodes in both pools', async () => {
    for (const line of [
      'kubectl apply -f examples/ ',
      'kubectl apply -f examples/moe/',
      'kubectl get inferencemodels',
      `curl -X POST http://127.0.0.1:${ports.api}/v1/models/default/llama-3-8b/warmup`,
      `curl http://127.0.0.1:${ports.api}/v1/pools`,
      `curl http://127.0.0.1:${ports.metrics}/metrics`,
    ]) {
      expect(local.stdout).toContain(line);
    }
    expect(await (await fetch(`http://127.0.0.1:${ports.metrics}/healthz`)).text()).toBe('ok\n');
    const nodes = await kubectlOk(local, [
      'get',
      'nodes',
      '-L',
      'inference-pool',
      '-o',
      'custom-columns=NAME:.metadata.name,POOL:.metadata.labels.inference-pool,GPUS:.status.capacity.nvidia\\.com/gpu',
      '--no-headers',
    ]);
    expect(
      nodes
        .trim()
        .split('\n')
        .map((l) => l.trim().split(/\s+/)),
    ).toEqual([
      ['default-0', 'default', '4'],
      ['gpu-a100-0', 'gpu-a100', '4'],
      ['gpu-a100-1', 'gpu-a100', '4'],
    ]);
    const budget = await pools(ports);
    expect(budget.get('gpu-a100')).toMatchObject({ totalBytes: 640 * Gi, allocatedBytes: 0 });
    expect(budget.get('default')).toMatchObject({ totalBytes: 96 * Gi, allocatedBytes: 0 });
  });

  it('refuses a second start from the same data folder, and the first runs on', async () => {
    await expect(LocalMode.start(dataDir, await freePorts())).rejects.toThrow(
      `local mode already runs from ${dataDir} (pid `,
    );
    expect((await fetch(`http://127.0.0.1:${ports.metrics}/healthz`)).status).toBe(200);
    expect(
      await kubectlOk(local, ['get', 'crd', 'inferencemodels.inference.eh-ops.io', '-o', 'name']),
    ).toContain('inferencemodels');
  });

  it('runs the models of examples/ in both pools, each with its budget allocated', async () => {
    await kubectlOk(local, ['apply', '-f', 'examples/']);
    await kubectlOk(local, ['wait', '--for=condition=Ready', 'inferencemodels', '--all', '--timeout=120s']);
    const budget = await pools(ports);
    expect(holders(budget.get('gpu-a100'))).toEqual(['default/llama-3-70b', 'default/llama-3-8b']);
    expect(budget.get('gpu-a100')?.allocatedBytes).toBe(156 * Gi);
    expect(holders(budget.get('default'))).toEqual(['default/phi-3-mini', 'default/qwen-2-7b']);
    expect(budget.get('default')?.allocatedBytes).toBe(24 * Gi);
  });

  it('refuses at kubectl apply, through the webhook over HTTPS, a model whose pool has no budget', async () => {
    const run = await kubectl(
      local,
      ['apply', '-f', '-'],
      modelManifest('llama-h100', '16Gi', 1, 'gpu-h100'),
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      'admission webhook "validate.inferencemodels.inference.eh-ops.io" denied the request: node pool "gpu-h100"',
    );
  });

  it('scales an idle model to zero after its cooldown and releases its budget; a warm-up brings it back', async () => {
    const scaledToZeroAndReleased = async () => {
      const [model] = (await models(local)).filter((m) => m.metadata.name === 'llama-3-8b');
      const budget = await pools(ports);
      return (
        model?.status?.replicas === 0 &&
        !holders(budget.get('gpu-a100')).includes('default/llama-3-8b') &&
        budget.get('gpu-a100')?.allocatedBytes === 140 * Gi
      );
    };
    // A cooldown the CRD allows, short enough for a test.
    await kubectlOk(local, [
      'patch',
      'inferencemodel',
      'llama-3-8b',
      '--type=merge',
      '-p',
      '{"spec":{"cooldownPeriod":"10s"}}',
    ]);
    await eventually('llama-3-8b scaled to zero and released', scaledToZeroAndReleased);

    const warmUp = await fetch(api('/v1/models/default/llama-3-8b/warmup'), { method: 'POST' });
    expect(warmUp.status).toBe(202);
    expect(warmUp.headers.get('location')).toBe('/v1/models/default/llama-3-8b');
    await eventually('llama-3-8b Ready after the warm-up', async () => {
      const view = await getJson<{ ready: boolean }>(api('/v1/models/default/llama-3-8b'));
      return view.ready;
    });
    expect(holders((await pools(ports)).get('gpu-a100'))).toContain('default/llama-3-8b');

    await eventually('llama-3-8b idle past its cooldown again', scaledToZeroAndReleased);
  });

  it('answers 429 with the blocking models and Retry-After when a pool is full', async () => {
    await kubectlOk(local, ['apply', '-f', '-'], modelManifest('batch-summarizer', '64Gi', 2));
    await kubectlOk(local, [
      'wait',
      '--for=condition=Ready',
      'inferencemodel/batch-summarizer',
      '--timeout=60s',
    ]);
    // 88Gi of the default pool's 96Gi is held: the webhook admits the model with a warning.
    const apply = await kubectl(local, ['apply', '-f', '-'], modelManifest('code-reviewer', '32Gi'));
    expect(apply.code).toBe(0);
    expect(apply.stderr).toContain('Warning: only 8Gi of pool default is free now (needs 32Gi)');

    const response = await fetch(api('/v1/models/default/code-reviewer/warmup'), { method: 'POST' });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = (await response.json()) as {
      error: { code: string; details: { available: string; blocking: { model: string; memory: string }[] } };
    };
    expect(body.error.code).toBe('insufficient_memory');
    expect(body.error.details.available).toBe('8Gi');
    // A minimal set that frees the 24Gi missing (docs/warmup-api.md): which one makes room soonest
    // depends on how long each has idled, so the test checks the set's shape, not its members.
    const blocking = body.error.details.blocking;
    const Gi = (memory: string) => Number(memory.replace('Gi', ''));
    const freed = blocking.reduce((sum, b) => sum + Gi(b.memory), 0);
    expect(freed).toBeGreaterThanOrEqual(24);
    for (const b of blocking) expect(freed - Gi(b.memory)).toBeLessThan(24);
    for (const b of blocking) expect(['phi-3-mini', 'qwen-2-7b', 'batch-summarizer']).toContain(b.model);
  });

  it("serves /metrics that answer the seed's example queries when Prometheus scrapes it", async () => {
    // Observed peaks come from DCGM through the recommendations pass, which local mode has no data for:
    // written here as that pass writes them, on the status subresource.
    for (const [name, peak] of [
      ['llama-3-70b', '60Gi'],
      ['phi-3-mini', '7Gi'],
      ['batch-summarizer', '40Gi'],
    ]) {
      await kubectlOk(local, [
        'patch',
        'inferencemodel',
        name!,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: { observedPeakMemory: peak } }),
      ]);
    }
    prometheus = await startPrometheus(prometheusDir, {
      job: 'local-mode',
      targets: [`127.0.0.1:${ports.metrics}`],
    });
    const url = prometheus.env.IBCP_PROMETHEUS_URL!;
    const examples = seedPromqlExamples(await readFile(seedFile(OBSERVABILITY_SEED), 'utf8'));
    expect(examples.length).toBeGreaterThan(15);

    let mismatches: unknown[] = [];
    await eventually(
      "Prometheus' answers to the seed's examples match the API and kubectl",
      async () => {
        const expected = seedAnswers(await models(local), [...(await pools(ports)).values()]);
        mismatches = [];
        for (const expr of examples) {
          const want = expected.get(expr);
          const got = await promql(url, expr);
          if (want === undefined || JSON.stringify(canonical(got)) !== JSON.stringify(canonical(want))) {
            mismatches.push({ expr, got, want: want && canonical(want) });
          }
        }
        return mismatches.length === 0;
      },
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${JSON.stringify(mismatches, null, 2)}`);
    });
    // Every example has data behind it, so none passes by being empty.
    for (const expr of examples) expect(await promql(url, expr)).not.toEqual({});
  });

  it('stops everything it started on Ctrl-C', async () => {
    const server = new URL(
      /server: (\S+)/.exec(await readFile(local.exported('KUBECONFIG'), 'utf8'))?.[1] ?? '',
    );
    expect(await local.interrupt()).not.toBeNull();
    for (const port of [ports.api, ports.metrics, ports.webhook, Number(server.port)]) {
      await eventually(`port ${port} closed`, async () => !(await listening(port)), 10_000);
    }
  });

  it(
    'starts again with the ledger it kept and settles it against the fresh cluster',
    async () => {
      const allocatedBefore = [
        'default/batch-summarizer',
        'default/llama-3-70b',
        'default/phi-3-mini',
        'default/qwen-2-7b',
      ];
      local = await LocalMode.start(dataDir, ports);
      expect(await models(local)).toEqual([]);
      await eventually('every allocation of the first start released', async () => {
        const budget = await pools(ports);
        return [...budget.values()].every((p) => p.allocatedBytes === 0);
      });
      const released = local
        .logs()
        .filter((l) => l.message === 'Memory budget released' && l.reason === 'no InferenceModel holds it')
        .map((l) => `${String(l.namespace)}/${String(l.model)}`)
        .sort();
      expect(released).toEqual(allocatedBefore);
      const budget = await pools(ports);
      expect(budget.get('gpu-a100')?.totalBytes).toBe(640 * Gi);
      expect(budget.get('default')?.totalBytes).toBe(96 * Gi);
      await local.interrupt();
    },
    START_TIMEOUT_MS,
  );
});
