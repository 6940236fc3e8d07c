// observability/dashboards/ against the harness's real Prometheus (the stand-in for Amazon Managed
// Prometheus): every dashboard imports into Grafana bound to a Prometheus data source, the budget dashboard
// is the seed's, panel for panel, and every panel query and every PromQL example of the seed evaluates,
// with known values, over a scenario written by remote write.
//
// The scenario is stamped in a time window of its own (15 to 25 minutes ago, at a random offset) and every
// query is evaluated at the window's end, so series other tests write "now" never mix into the seed's
// aggregations (which match on metric names alone) and no label has to be added to tell ours apart.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RemoteWriteSink } from '../../../lambdas/adapters/prometheus-remote-write.js';
import type { PoolSnapshot } from '../../../lambdas/core/ledger/ledger.js';
import { modelSamples, poolSamples } from '../../../lambdas/core/metrics/catalog.js';
import { CLUSTER_LABEL } from '../../../lambdas/core/metrics/cluster-label.js';
import { formatQuantity } from '../../../lambdas/core/quantity.js';
import { inferenceModel, managedDeployment } from '../../support/builders.js';
import type { Sample } from '../../../lambdas/core/metrics/series.js';
import { harnessEnv } from '../../../services/service.js';
import { OBSERVABILITY_SEED, seedFile, seedPromqlExamples } from '../../support/seeds.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dashboardsDir = join(repoRoot, 'observability', 'dashboards');
const observabilitySeed = seedFile(OBSERVABILITY_SEED);

interface Target {
  expr: string;
  refId: string;
  datasource?: { type: string; uid: string };
  [key: string]: unknown;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
  [key: string]: unknown;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: string }[] };
  panels: Panel[];
  [key: string]: unknown;
}

const dashboards = new Map<string, Dashboard>(
  readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as Dashboard]),
);
const queryPanels = (d: Dashboard) => d.panels.filter((p) => p.type !== 'row');
const budgetDashboard = () => dashboards.get('inference-budget.json') as Dashboard;

// ---- The scenario -------------------------------------------------------------------------------
const Gi = 1024 ** 3;
const NS = 'obs-test';
const POOLS = {
  'obs-pool-a': { total: 160 * Gi, allocated: 96 * Gi },
  'obs-pool-b': { total: 64 * Gi, allocated: 48 * Gi },
};
const MODELS = {
  // running and ready
  'obs-llama-2-70b': { declared: 80 * Gi, peak: 75 * Gi, ready: 1, replicas: 1 },
  'obs-llama-2-7b': { declared: 16 * Gi, peak: 8 * Gi, ready: 1, replicas: 1 },
  // starting: a replica, not ready yet
  'obs-codellama-34b': { declared: 48 * Gi, peak: 36 * Gi, ready: 0, replicas: 1 },
  // scaled to zero
  'obs-mistral-7b': { declared: 24 * Gi, peak: 20 * Gi, ready: 0, replicas: 0 },
};
const STEP_MS = 30_000;
const STEPS = 40; // 20 minutes of samples, 41 per series

/** Per model / per pool expectations are keyed by the series' `model`, `node_pool` or `instance` label. */
type Expected = number | Record<string, number>;
const byModel = (f: (m: (typeof MODELS)[keyof typeof MODELS]) => number) =>
  Object.fromEntries(Object.entries(MODELS).map(([name, m]) => [name, f(m)]));
const byPool = (f: (p: { total: number; allocated: number }) => number) =>
  Object.fromEntries(Object.entries(POOLS).map(([name, p]) => [name, f(p)]));
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const models = Object.values(MODELS);
const pools = Object.values(POOLS);
const ratio = (m: { declared: number; peak: number }) => m.peak / m.declared;
const totalAllocated = sum(pools.map((p) => p.allocated));
const totalBudget = sum(pools.map((p) => p.total));
const totalAvailable = totalBudget - totalAllocated;
const avgDeclared = sum(models.map((m) => m.declared)) / models.length;
const avgRatio = sum(models.map(ratio)) / models.length;

// The seed's PromQL examples (its ```promql blocks, comment lines dropped), in the seed's order, with what
// each must answer for the scenario.
const SEED_EXAMPLES: [string, Expected][] = [
  ['inference_model_memory_declared_bytes', byModel((m) => m.declared)],
  ['sum(inference_model_memory_declared_bytes)', 168 * Gi],
  ['inference_model_memory_observed_peak_bytes', byModel((m) => m.peak)],
  ['inference_model_memory_observed_peak_bytes > 50 * 1024 * 1024 * 1024', { 'obs-llama-2-70b': 75 * Gi }],
  ['inference_model_memory_utilization_ratio < 0.7', { 'obs-llama-2-7b': 0.5 }],
  ['avg(inference_model_memory_utilization_ratio)', avgRatio],
  ['sum(inference_model_ready)', 2],
  ['inference_model_ready == 0', { 'obs-codellama-34b': 0, 'obs-mistral-7b': 0 }],
  ['avg(inference_model_ready) * 100', 50],
  ['sum(inference_model_replicas)', 3],
  ['inference_model_replicas == 0', { 'obs-mistral-7b': 0 }],
  ['inference_budget_total_bytes', byPool((p) => p.total)],
  ['sum(inference_budget_total_bytes)', 224 * Gi],
  ['inference_budget_allocated_bytes', byPool((p) => p.allocated)],
  [
    'inference_budget_allocated_bytes / inference_budget_total_bytes * 100',
    { 'obs-pool-a': 60, 'obs-pool-b': 75 },
  ],
  ['inference_budget_available_bytes', byPool((p) => p.total - p.allocated)],
  ['inference_budget_available_bytes < 20 * 1024 * 1024 * 1024', { 'obs-pool-b': 16 * Gi }],
  ['avg(inference_model_memory_utilization_ratio)', avgRatio],
  ['sum(inference_budget_allocated_bytes) / 1024 / 1024 / 1024  # in GiB', 144],
  // "Models that could fit in freed memory": 80Gi available / 42Gi declared on average.
  [
    'sum(inference_budget_available_bytes) / avg(inference_model_memory_declared_bytes)',
    totalAvailable / avgDeclared,
  ],
];

// The seed dashboard's seven panels (title, type, queries), quoted from the seed.
const SEED_PANELS = [
  {
    title: 'Memory Budget Overview',
    type: 'gauge',
    exprs: ['sum(inference_budget_allocated_bytes) / sum(inference_budget_total_bytes) * 100'],
  },
  {
    title: 'Model Status',
    type: 'table',
    exprs: ['inference_model_ready', 'inference_model_replicas', 'inference_model_memory_declared_bytes'],
  },
  {
    title: 'Memory Utilization',
    type: 'timeseries',
    exprs: ['inference_model_memory_utilization_ratio * 100'],
  },
  {
    title: 'Budget Allocation Over Time',
    type: 'timeseries',
    exprs: ['inference_budget_allocated_bytes', 'inference_budget_total_bytes'],
  },
  {
    title: 'Models by Status',
    type: 'piechart',
    exprs: ['sum(inference_model_ready)', 'count(inference_model_ready == 0) or vector(0)'],
  },
  {
    title: 'Overprovisioned Models',
    type: 'stat',
    exprs: ['count(inference_model_memory_utilization_ratio < 0.9) or vector(0)'],
  },
  { title: 'Available Memory', type: 'stat', exprs: ['sum(inference_budget_available_bytes)'] },
];

const RECONCILE = 'inference_control_plane_reconcile_duration_seconds_bucket';
const COLD_START = 'inference_model_cold_start_seconds_bucket';
const HELD = 'inference_budget_held_byte_seconds_total';
const NODE_MEMORY = 'inference_node_pool_gpu_memory_per_node_bytes';
const NODE_PRICE = 'inference_node_pool_price_per_node_hour_dollars';

// What every panel query of every dashboard answers for the scenario.
const PANEL_EXPECTATIONS = new Map<string, Expected>([
  ...SEED_EXAMPLES,
  // inference-budget.json
  [
    'sum(inference_budget_allocated_bytes) / sum(inference_budget_total_bytes) * 100',
    (totalAllocated / totalBudget) * 100,
  ],
  ['inference_model_ready', byModel((m) => m.ready)],
  ['inference_model_replicas', byModel((m) => m.replicas)],
  ['inference_model_memory_utilization_ratio * 100', byModel((m) => ratio(m) * 100)],
  ['count(inference_model_ready == 0) or vector(0)', 2],
  // 0.5, 0.75 and 0.833 are under 0.9; 0.9375 is not.
  ['count(inference_model_memory_utilization_ratio < 0.9) or vector(0)', 3],
  ['sum(inference_budget_available_bytes)', totalAvailable],
  // control-plane-health.json
  [
    'time() - max(max_over_time(inference_control_plane_last_successful_reconcile_timestamp_seconds[1h]))',
    120,
  ],
  ['sum(increase(inference_control_plane_reconcile_errors_total[10m])) or vector(0)', 2],
  ['sum(increase(inference_control_plane_reconcile_errors_total[10m]))', 2],
  // Per step: 2 passes under 0.1s, 8 under 0.5s, 9 under 1s, 10 in all.
  [`histogram_quantile(0.5, sum by (le) (rate(${RECONCILE}[5m])))`, 0.3],
  [`histogram_quantile(0.95, sum by (le) (rate(${RECONCILE}[5m])))`, 3],
  [`histogram_quantile(0.99, sum by (le) (rate(${RECONCILE}[5m])))`, 4.6],
  ['sum(rate(inference_control_plane_reconcile_duration_seconds_count[5m])) * 60', 20],
  [
    'sum by (node_pool) (increase(inference_warmup_rejections_total[15m]))',
    { 'obs-pool-a': 15, 'obs-pool-b': 0 },
  ],
  [
    'sum by (node_pool) (increase(inference_warmup_evictions_total[15m]))',
    { 'obs-pool-a': 6, 'obs-pool-b': 0 },
  ],
  ['max by (node_pool) (inference_admission_queue_length)', { 'obs-pool-a': 3, 'obs-pool-b': 0 }],
  // Per step: 1 cold start under 5s, 3 under 15s, 4 under 30s, 4 in all.
  [`histogram_quantile(0.5, sum by (le) (rate(${COLD_START}[1h])))`, 10],
  [`histogram_quantile(0.95, sum by (le) (rate(${COLD_START}[1h])))`, 27],
  // gpu-showback.json: team-a holds 40Gi of pool a's 80Gi nodes ($30 a node-hour) and team-b 16Gi of pool
  // b's (no price) for the scenario's 20 minutes, from a counter at 0: increase() does not extrapolate.
  [
    `sum by (namespace) (increase(${HELD}[24h]) / on (cluster, node_pool) group_left () ${NODE_MEMORY}) / 3600`,
    { 'obs-team-a': (40 / 80) * (20 / 60), 'obs-team-b': (16 / 80) * (20 / 60) },
  ],
  [
    `sum by (namespace) (increase(${HELD}[24h]) / on (cluster, node_pool) group_left () ${NODE_MEMORY} * on (cluster, node_pool) group_left () ${NODE_PRICE}) / 3600`,
    { 'obs-team-a': (40 / 80) * (20 / 60) * 30 },
  ],
  [`sum by (namespace) (rate(${HELD}[5m]))`, { 'obs-team-a': 40 * Gi, 'obs-team-b': 16 * Gi }],
  // moe-training.json
  ['moe_lab_training_tokens_per_second', { 'obs-trainer-0': 1200 }],
  ['moe_lab_training_loss', { 'obs-trainer-0': 2 - 0.001 * STEPS }],
  ['deriv(moe_lab_training_loss[1h]) * 3600', { 'obs-trainer-0': -0.001 * (3600_000 / STEP_MS) }],
  ['moe_lab_expert_utilization_variance', { 'obs-trainer-0': 0.12 }],
  ['moe_lab_gpu_memory_utilization', { 'obs-trainer-0': 0.82 }],
  ['moe_lab_training_step_duration', { 'obs-trainer-0': 4.2 }],
  ['node_cpu_utilization', { 'obs-gpu-node-1': 0.55 }],
  ['node_memory_utilization', { 'obs-gpu-node-1': 0.62 }],
  ['node_disk_utilization', { 'obs-gpu-node-1': 0.4 }],
  ['nvidia_gpu_temperature', { 'obs-gpu-node-1': 67 }],
  ['container_memory_usage / (container_memory_limit > 0)', { 'obs-trainer-0': 0.75 }],
  // moe-inference.json
  ['moe_lab_inference_latency_p99', { 'obs-inference-0': 0.35 }],
  ['moe_lab_inference_requests_per_second', { 'obs-inference-0': 42 }],
  ['moe_lab_inference_error_rate', { 'obs-inference-0': 0.01 }],
  ['moe_lab_expert_cache_hit_rate', { 'obs-inference-0': 0.91 }],
  ['moe_lab_model_load_time', { 'obs-inference-0': 18 }],
]);

const scenarioModels = Object.entries(MODELS).map(([name, m]) => ({
  ...inferenceModel(name, { memory: formatQuantity(m.declared) }, NS),
  status: { observedPeakMemory: formatQuantity(m.peak) },
}));
const scenarioDeployments = Object.entries(MODELS).map(([name, m]) => ({
  ...managedDeployment(name, {}, NS),
  replicas: m.replicas,
  readyReplicas: m.ready,
  memoryAnnotation: formatQuantity(m.declared),
}));
const scenarioPools: PoolSnapshot[] = Object.entries(POOLS).map(([name, p]) => ({
  name,
  nodeGroup: name,
  bytesPerNode: 80 * Gi,
  totalBytes: p.total,
  allocatedBytes: p.allocated,
  availableBytes: p.total - p.allocated,
  allocations: [],
}));

/** Every series of the scenario, sampled every 30 s over the 20 minutes that end at `endMs`. */
function scenario(endMs: number): Sample[] {
  const samples: Sample[] = [];
  for (let k = 0; k <= STEPS; k++) {
    const t = endMs - (STEPS - k) * STEP_MS;
    const add = (metric: string, labels: Record<string, string>, value: number) =>
      samples.push({ metric, labels, value, timestampMs: t });
    // The seed's model and budget series come from the control plane's own sample builders (what the
    // scheduled pass publishes), fed with the scenario's models, Deployments and pools.
    samples.push(...modelSamples(scenarioModels, scenarioDeployments, t), ...poolSamples(scenarioPools, t));
    // Control plane: passes succeed until 2 minutes before the end; an error every 5 minutes.
    add(
      'inference_control_plane_last_successful_reconcile_timestamp_seconds',
      {},
      Math.min(t, endMs - 120_000) / 1000,
    );
    add('inference_control_plane_reconcile_errors_total', {}, Math.floor(k / 10));
    const reconcileBuckets: [string, number][] = [
      ['0.1', 2],
      ['0.5', 8],
      ['1', 9],
      ['5', 10],
      ['+Inf', 10],
    ];
    for (const [le, perStep] of reconcileBuckets) add(RECONCILE, { le }, perStep * k);
    add('inference_control_plane_reconcile_duration_seconds_count', {}, 10 * k);
    add('inference_control_plane_reconcile_duration_seconds_sum', {}, 4 * k);
    add('inference_warmup_rejections_total', { node_pool: 'obs-pool-a' }, k / 2);
    add('inference_warmup_rejections_total', { node_pool: 'obs-pool-b' }, 3);
    add('inference_warmup_evictions_total', { node_pool: 'obs-pool-a' }, k / 5);
    add('inference_warmup_evictions_total', { node_pool: 'obs-pool-b' }, 2);
    add('inference_admission_queue_length', { node_pool: 'obs-pool-a' }, 3);
    add('inference_admission_queue_length', { node_pool: 'obs-pool-b' }, 0);
    const coldStartBuckets: [string, number][] = [
      ['5', 1],
      ['15', 3],
      ['30', 4],
      ['60', 4],
      ['+Inf', 4],
    ];
    for (const [le, perStep] of coldStartBuckets) add(COLD_START, { le }, perStep * k);
    add('inference_model_cold_start_seconds_count', {}, 4 * k);
    add('inference_model_cold_start_seconds_sum', {}, 60 * k);
    // Showback: byte-seconds held since the first sample, the pools' node size and price.
    const stepSeconds = STEP_MS / 1000;
    add(
      HELD,
      { node_pool: 'obs-pool-a', namespace: 'obs-team-a', model: 'obs-llama-2-70b' },
      40 * Gi * stepSeconds * k,
    );
    add(
      HELD,
      { node_pool: 'obs-pool-b', namespace: 'obs-team-b', model: 'obs-llama-2-7b' },
      16 * Gi * stepSeconds * k,
    );
    for (const pool of Object.keys(POOLS)) add(NODE_MEMORY, { node_pool: pool }, 80 * Gi);
    add(NODE_PRICE, { node_pool: 'obs-pool-a' }, 30);
    // MoE trainer, inference service and their nodes.
    const trainer = { instance: 'obs-trainer-0' };
    add('moe_lab_training_tokens_per_second', trainer, 1200);
    add('moe_lab_training_loss', trainer, 2 - 0.001 * k);
    add('moe_lab_expert_utilization_variance', trainer, 0.12);
    add('moe_lab_gpu_memory_utilization', trainer, 0.82);
    add('moe_lab_training_step_duration', trainer, 4.2);
    add('container_memory_usage', trainer, 1.5 * Gi);
    add('container_memory_limit', trainer, 2 * Gi);
    const server = { instance: 'obs-inference-0' };
    add('moe_lab_inference_latency_p99', server, 0.35);
    add('moe_lab_inference_requests_per_second', server, 42);
    add('moe_lab_inference_error_rate', server, 0.01);
    add('moe_lab_expert_cache_hit_rate', server, 0.91);
    add('moe_lab_model_load_time', server, 18);
    const node = { instance: 'obs-gpu-node-1' };
    add('node_cpu_utilization', node, 0.55);
    add('node_memory_utilization', node, 0.62);
    add('node_disk_utilization', node, 0.4);
    add('nvidia_gpu_temperature', node, 67);
  }
  return samples;
}

// ---- Prometheus' HTTP API -----------------------------------------------------------------------------
interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(prometheus: string, expr: string, atMs: number): Promise<QueryResponse> {
  const url = new URL(`${prometheus}/api/v1/query`);
  url.searchParams.set('query', expr);
  url.searchParams.set('time', String(atMs / 1000));
  return (await (await fetch(url)).json()) as QueryResponse;
}

/** Values to 10 significant digits, keyed like the expectations, so a failure shows what came back. */
function answer(response: QueryResponse): Expected | string {
  if (response.status !== 'success' || !response.data) return `error: ${response.error}`;
  if (response.data.resultType !== 'vector') return `result type ${response.data.resultType}`;
  const result = response.data.result;
  if (result.length === 1 && Object.keys(result[0]?.metric ?? {}).length === 0) {
    return round(Number(result[0]?.value[1]));
  }
  return Object.fromEntries(
    result.map((r) => [
      r.metric.model ??
        r.metric.node_pool ??
        r.metric.instance ??
        r.metric.namespace ??
        JSON.stringify(r.metric),
      round(Number(r.value[1])),
    ]),
  );
}
const round = (value: number) => Number(value.toPrecision(10));
const rounded = (expected: Expected): Expected =>
  typeof expected === 'number'
    ? round(expected)
    : Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, round(v)]));

// ---- Tests --------------------------------------------------------------------------------------------
describe('observability/dashboards', () => {
  it('are the five dashboards, each with its own uid, schema version 38, a Prometheus data source variable and a cluster filter', () => {
    expect([...dashboards.keys()]).toEqual([
      'control-plane-health.json',
      'gpu-showback.json',
      'inference-budget.json',
      'moe-inference.json',
      'moe-training.json',
    ]);
    const uids = [...dashboards.values()].map((d) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const [file, d] of dashboards) {
      expect({ file, schemaVersion: d.schemaVersion, title: typeof d.title }).toEqual({
        file,
        schemaVersion: 38,
        title: 'string',
      });
      expect({ file, variables: d.templating.list }).toEqual({
        file,
        variables: [
          expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
          // An ad hoc filter (cluster = <name>) narrows every query without a variable in its text.
          expect.objectContaining({
            name: 'cluster',
            type: 'adhoc',
            datasource: { type: 'prometheus', uid: '${datasource}' },
          }),
        ],
      });
    }
  });

  it('bind every panel and query to the data source variable, with unique panel ids and refIds', () => {
    const bound = { type: 'prometheus', uid: '${datasource}' };
    for (const [file, d] of dashboards) {
      const ids = d.panels.map((p) => p.id);
      expect({ file, duplicateIds: ids.length - new Set(ids).size }).toEqual({ file, duplicateIds: 0 });
      for (const panel of queryPanels(d)) {
        const where = `${file}: ${panel.title}`;
        const targets = panel.targets ?? [];
        expect({ where, datasource: panel.datasource, queries: targets.length > 0 }).toEqual({
          where,
          datasource: bound,
          queries: true,
        });
        expect({ where, refIds: new Set(targets.map((t) => t.refId)).size }).toEqual({
          where,
          refIds: targets.length,
        });
        for (const target of targets) {
          expect({
            where,
            datasource: target.datasource,
            grafanaVariable: target.expr.includes('$'),
          }).toEqual({
            where,
            datasource: bound,
            grafanaVariable: false,
          });
        }
      }
    }
  });

  it("hold the seed's seven budget panels with the seed's queries", () => {
    expect(
      queryPanels(budgetDashboard()).map((p) => ({
        title: p.title,
        type: p.type,
        exprs: (p.targets ?? []).map((t) => t.expr),
      })),
    ).toEqual(SEED_PANELS);
    expect(budgetDashboard()).toMatchObject({
      title: 'Inference Budget Controller',
      uid: 'inference-budget',
    });
  });

  it('match the seed dashboard field for field, and the seed examples quoted here', () => {
    const text = readFileSync(observabilitySeed, 'utf8');
    const block = /```json\n(\{\n {2}"annotations"[\s\S]*?)\n```/.exec(text)?.[1];
    const seed = JSON.parse(block ?? '{}') as Dashboard;
    const { panels: seedPanels, ...seedTop } = seed;
    expect(seedPanels).toHaveLength(7);
    expect(budgetDashboard()).toMatchObject(seedTop);
    expect(budgetDashboard().panels).toMatchObject(seedPanels);
    expect(seedPromqlExamples(text)).toEqual(SEED_EXAMPLES.map(([expr]) => expr));
  });

  describe('on Prometheus, over a known scenario', () => {
    const prometheus = harnessEnv('IBCP_PROMETHEUS_URL');
    // A whole second 15 to 25 minutes ago; Prometheus accepts samples up to an hour older than its newest.
    const endMs = Math.floor((Date.now() - 15 * 60_000 - Math.random() * 10 * 60_000) / 1000) * 1000;

    beforeAll(async () => {
      // Labelled with their cluster, as a Lambda serving a governed cluster writes them: the seed's
      // queries, which never name the label, answer as written.
      await new RemoteWriteSink(`${prometheus}/api/v1/write`).write(
        scenario(endMs).map((sample) => ({
          ...sample,
          labels: { ...sample.labels, [CLUSTER_LABEL]: 'obs' },
        })),
      );
    });

    it('answers every PromQL example of the seed as expected', async () => {
      for (const [expr, expected] of SEED_EXAMPLES) {
        expect({ expr, answer: answer(await query(prometheus, expr, endMs)) }).toEqual({
          expr,
          answer: rounded(expected),
        });
      }
    });

    it('answers every panel query of every dashboard as expected', async () => {
      const exprs = [...dashboards.values()].flatMap((d) =>
        queryPanels(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
      );
      expect(exprs.filter((expr) => !PANEL_EXPECTATIONS.has(expr))).toEqual([]);
      for (const expr of exprs) {
        expect({ expr, answer: answer(await query(prometheus, expr, endMs)) }).toEqual({
          expr,
          answer: rounded(PANEL_EXPECTATIONS.get(expr) as Expected),
        });
      }
    });

    it('shows the budget gauge, the overprovisioned count and the freed-memory fit the seed defines', async () => {
      const at = (expr: string) => query(prometheus, expr, endMs).then(answer);
      // 144Gi of 224Gi allocated.
      expect(await at(SEED_PANELS[0]?.exprs[0] ?? '')).toBe(round((144 / 224) * 100));
      expect(await at('count(inference_model_memory_utilization_ratio < 0.9) or vector(0)')).toBe(3);
      expect(
        await at('sum(inference_budget_available_bytes) / avg(inference_model_memory_declared_bytes)'),
      ).toBe(round((80 * Gi) / (42 * Gi)));
    });
  });
});
