// observability/rules/ and docs/runbooks/: the rules pass `promtool check rules`, every alert has a promtool
// unit test that fires above its threshold and one that stays silent under it, and rules, runbook pages
// and the runbook index stay in step. The seed's six alerts are checked against the seed document itself
// (shared/seeds beside the repo) and against the names and expressions quoted below.
import { loadYaml } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OBSERVABILITY_SEED, seedFile } from '../../support/seeds.js';
import { ALARM_KINDS } from '../../../lib/control-plane-alarms.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const rulesDir = join(repoRoot, 'observability', 'rules');
const ruleTestsDir = join(rulesDir, 'tests');
const runbooksDir = join(repoRoot, 'docs', 'runbooks');
const promtool = process.env.IBCP_PROMTOOL_BIN ?? 'promtool';
const observabilitySeed = seedFile(OBSERVABILITY_SEED);

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: (AlertRule | { record: string; expr: string })[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: {
    name?: string;
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[];
  }[];
}

const ruleFiles = readdirSync(rulesDir)
  .filter((f) => f.endsWith('.yml'))
  .sort();
const ruleTestFiles = readdirSync(ruleTestsDir)
  .filter((f) => f.endsWith('.test.yml'))
  .sort();

const alerts: (AlertRule & { file: string; group: string })[] = ruleFiles.flatMap((file) =>
  loadYaml<RuleFile>(readFileSync(join(rulesDir, file), 'utf8')).groups.flatMap((group) =>
    group.rules.flatMap((rule) => ('alert' in rule ? [{ ...rule, file, group: group.name }] : [])),
  ),
);
const alertNamed = (name: string) => alerts.find((a) => a.alert === name);

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** PromQL compared without its layout (line breaks and indentation in YAML and Markdown differ). */
const compact = (promql: string) => promql.replace(/\s+/g, '');

// The original controller's six alerts, quoted from the seed (000_887327fde4744b83.txt).
const SEED_ALERTS = [
  {
    alert: 'NoInferenceModelsReady',
    expr: 'sum(inference_model_ready) == 0',
    for: '5m',
    severity: 'critical',
  },
  {
    alert: 'HighMemoryUtilization',
    expr: 'sum(inference_budget_allocated_bytes) / sum(inference_budget_total_bytes) > 0.9',
    for: '5m',
    severity: 'warning',
  },
  {
    alert: 'ModelNotReady',
    expr: 'inference_model_ready == 0 and inference_model_replicas > 0',
    for: '10m',
    severity: 'warning',
  },
  {
    alert: 'ModelOverprovisioned',
    expr: 'inference_model_memory_utilization_ratio < 0.7',
    for: '1h',
    severity: 'info',
  },
  {
    alert: 'FrequentScaleUps',
    expr: 'increase(inference_model_replicas[5m]) > 3',
    for: '5m',
    severity: 'warning',
  },
  {
    alert: 'BudgetAllocationExceedsTotal',
    expr: 'inference_budget_allocated_bytes > inference_budget_total_bytes',
    for: '1m',
    severity: 'critical',
  },
];

// The control plane's own health alerts and the metric names it emits (named by the issue, not the seed).
const CONTROL_PLANE_ALERTS = {
  ReconcileStale: 'inference_control_plane_last_successful_reconcile_timestamp_seconds',
  ReconcileErrors: 'increase(inference_control_plane_reconcile_errors_total[10m]) > 0',
  WarmUpRejectionsHigh: 'sum by (cluster, node_pool) (increase(inference_warmup_rejections_total[15m])) > 10',
};

// The playbook's named alerts with its severities (004_e3212712b4b9cca1.txt).
const PLAYBOOK_ALERTS = {
  MoETrainingLossHigh: 'warning',
  GPUMemoryUsageHigh: 'critical',
  ExpertLoadImbalance: 'warning',
  InferenceLatencyHigh: 'warning',
};
const AUTOMATION_SECTION = '## What the control plane does on its own';

// One alert per row of the playbook's threshold tables, in the units moe-lab.yml documents.
const PLAYBOOK_THRESHOLDS = [
  'moe_lab_training_tokens_per_second < 500',
  'deriv(moe_lab_training_loss[1h]) >= 0',
  'moe_lab_expert_utilization_variance > 0.3',
  'moe_lab_gpu_memory_utilization > 0.95',
  'moe_lab_training_step_duration > 10',
  'moe_lab_inference_latency_p99 > 1',
  'moe_lab_inference_requests_per_second < 10',
  'moe_lab_inference_error_rate > 0.05',
  'moe_lab_expert_cache_hit_rate < 0.8',
  'moe_lab_model_load_time > 30',
  'node_cpu_utilization > 0.9',
  'node_memory_utilization > 0.9',
  'node_disk_utilization > 0.85',
  'nvidia_gpu_temperature > 85',
  'container_memory_usage > container_memory_limit',
];

describe('observability/rules', () => {
  it('pass promtool check rules', async () => {
    expect(ruleFiles).toEqual(['inference-budget.yml', 'moe-lab.yml']);
    const result = await run(promtool, [
      'check',
      'rules',
      ...ruleFiles.map((f) => join('observability', 'rules', f)),
    ]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.output.match(/SUCCESS/g)).toHaveLength(ruleFiles.length);
  });

  it('pass their promtool unit tests', async () => {
    const result = await run(promtool, [
      'test',
      'rules',
      ...ruleTestFiles.map((f) => join('observability', 'rules', 'tests', f)),
    ]);
    expect(result.output).not.toContain('FAILED');
    expect(result).toMatchObject({ code: 0 });
  });

  it('have a unit test for every alert: one where it fires, one where it stays silent', () => {
    const fires = new Set<string>();
    const silent = new Set<string>();
    const tested = new Set<string>();
    for (const file of ruleTestFiles) {
      const suite = loadYaml<RuleTestFile>(readFileSync(join(ruleTestsDir, file), 'utf8'));
      for (const ruleFile of suite.rule_files) tested.add(ruleFile.replace(/^\.\.\//, ''));
      for (const test of suite.tests) {
        for (const check of test.alert_rule_test ?? []) {
          ((check.exp_alerts ?? []).length > 0 ? fires : silent).add(check.alertname);
        }
      }
    }
    expect([...tested].sort()).toEqual(ruleFiles);
    const names = alerts.map((a) => a.alert).sort();
    expect(names.filter((name) => !fires.has(name))).toEqual([]);
    expect(names.filter((name) => !silent.has(name))).toEqual([]);
    expect([...fires, ...silent].filter((name) => !alertNamed(name))).toEqual([]);
  });

  it('give every alert a unique name, a known severity, a summary, a description and a runbook page', () => {
    expect(alerts).toHaveLength(24);
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    for (const alert of alerts) {
      const where = `${alert.file}: ${alert.alert}`;
      expect({ where, severity: alert.labels?.severity }).toEqual({
        where,
        severity: expect.stringMatching(/^(critical|warning|info)$/),
      });
      expect({ where, summary: alert.annotations?.summary }).toEqual({ where, summary: expect.any(String) });
      expect({ where, description: alert.annotations?.description }).toEqual({
        where,
        description: expect.any(String),
      });
      expect({ where, runbook: alert.annotations?.runbook_url }).toEqual({
        where,
        runbook: `docs/runbooks/${alert.alert}.md`,
      });
      expect({ where, exists: existsSync(join(repoRoot, 'docs', 'runbooks', `${alert.alert}.md`)) }).toEqual({
        where,
        exists: true,
      });
    }
  });

  it('keep the seed alerts as the seed writes them, with a runbook_url added', () => {
    for (const seed of SEED_ALERTS) {
      const alert = alertNamed(seed.alert);
      expect({
        alert: alert?.alert,
        expr: alert?.expr.trim(),
        for: alert?.for,
        severity: alert?.labels?.severity,
        group: alert?.group,
      }).toEqual({ ...seed, group: 'inference-budget-controller' });
    }
  });

  it('match the seed document alert for alert', () => {
    const text = readFileSync(observabilitySeed, 'utf8');
    const block = /```yaml\n(groups:[\s\S]*?)```/.exec(text)?.[1];
    expect(block).toBeDefined();
    const seedRules = loadYaml<RuleFile>(block ?? '').groups.flatMap((g) => g.rules) as AlertRule[];
    expect(seedRules.map((r) => r.alert)).toEqual(SEED_ALERTS.map((a) => a.alert));
    for (const seedRule of seedRules) {
      const alert = alertNamed(seedRule.alert);
      const { runbook_url, ...annotations } = alert?.annotations ?? {};
      expect(runbook_url).toBe(`docs/runbooks/${seedRule.alert}.md`);
      expect({ ...alert, annotations }).toEqual({
        ...seedRule,
        file: 'inference-budget.yml',
        group: 'inference-budget-controller',
      });
    }
  });

  it('watch the control plane through the metrics it emits', () => {
    for (const [name, fragment] of Object.entries(CONTROL_PLANE_ALERTS)) {
      const alert = alertNamed(name);
      expect({ name, group: alert?.group }).toEqual({ name, group: 'inference-control-plane' });
      expect(compact(alert?.expr ?? '')).toContain(compact(fragment));
    }
    expect(compact(alertNamed('ReconcileStale')?.expr ?? '')).toContain('>300');
  });

  it('cover every row of the playbook threshold tables, with its severities for its named alerts', () => {
    const moe = alerts.filter((a) => a.file === 'moe-lab.yml');
    for (const threshold of PLAYBOOK_THRESHOLDS) {
      expect({
        threshold,
        alerts: moe.filter((a) => compact(a.expr).includes(compact(threshold))).length,
      }).toEqual({ threshold, alerts: 1 });
    }
    expect(moe).toHaveLength(PLAYBOOK_THRESHOLDS.length);
    for (const [name, severity] of Object.entries(PLAYBOOK_ALERTS)) {
      expect({ name, severity: alertNamed(name)?.labels?.severity }).toEqual({ name, severity });
    }
  });
});

describe('docs/runbooks', () => {
  const pages = readdirSync(runbooksDir)
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .map((f) => f.replace(/\.md$/, ''))
    .sort();
  const index = readFileSync(join(runbooksDir, 'README.md'), 'utf8');

  it('has one page per alert and per CloudWatch alarm, and no page without either', () => {
    expect(pages).toEqual([...new Set([...alerts.map((a) => a.alert), ...ALARM_KINDS])].sort());
  });

  it('gives each CloudWatch alarm a page with the sections on-call needs', () => {
    for (const kind of ALARM_KINDS) {
      const page = readFileSync(join(runbooksDir, `${kind}.md`), 'utf8');
      expect({ kind, title: page.split('\n')[0], alarm: page.includes(`<stack>-${kind}`) }).toEqual({
        kind,
        title: `# ${kind}`,
        alarm: true,
      });
      const sections = [...page.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
      expect({ kind, sections }).toEqual({
        kind,
        sections: ['What fired', 'Impact', 'What to check', 'What to do'],
      });
    }
  });

  it('indexes every page in README.md', () => {
    for (const page of pages) {
      expect({ page, links: index.split(`](${page}.md)`).length - 1 }).toEqual({ page, links: 1 });
    }
  });

  it('shows on each page the expression that fired and the sections on-call needs', () => {
    for (const alert of alerts) {
      const page = readFileSync(join(runbooksDir, `${alert.alert}.md`), 'utf8');
      const where = alert.alert;
      expect({ where, title: page.split('\n')[0] }).toEqual({ where, title: `# ${alert.alert}` });
      expect({ where, expr: compact(page).includes(compact(alert.expr)) }).toEqual({ where, expr: true });
      expect({ where, severity: page.includes(`**Severity:** ${alert.labels?.severity}`) }).toEqual({
        where,
        severity: true,
      });
      const sections = [...page.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
      expect({
        where,
        sections: sections.filter((s) => s !== 'What the control plane does on its own'),
      }).toEqual({
        where,
        sections: ['What fired', 'Impact', 'What to check', 'What to do'],
      });
    }
  });

  it('says on the playbook alerts what the automation does and what is left to a person, and claims automation nowhere else', () => {
    for (const alert of alerts) {
      const page = readFileSync(join(runbooksDir, `${alert.alert}.md`), 'utf8');
      const playbook = alert.alert in PLAYBOOK_ALERTS;
      const section = page.includes(AUTOMATION_SECTION)
        ? page.slice(
            page.indexOf(AUTOMATION_SECTION),
            page.indexOf('\n## ', page.indexOf(AUTOMATION_SECTION) + 1),
          )
        : '';
      expect({
        page: alert.alert,
        section: section !== '',
        linksRemediation: section.includes('(../remediation.md)'),
        leftToAPerson: section.includes('**Left to a person:**'),
        planned: page.includes('planned (issue 9)'),
      }).toEqual({
        page: alert.alert,
        section: playbook,
        linksRemediation: playbook,
        leftToAPerson: playbook,
        planned: false,
      });
    }
  });
});
