import type { PolicyResult, SimulationResult, WaitSummary } from '../result.js';
import { change, count, hours, seconds, usd, utc } from './format.js';

/** The side-by-side table (stdout): one column per policy, then the per-model breakdown. */
export function sideBySide(result: SimulationResult): string {
  const { scenario, policies } = result;
  const baseline = policies.find((p) => p.policy === 'always-on');
  const rows: string[][] = [
    ['', ...policies.map((p) => p.label)],
    ['GPU node-hours', ...policies.map((p) => hours(p.nodeHours))],
    ...scenario.pools.map((pool) => [
      `  ${pool.name}`,
      ...policies.map((p) => hours(p.pools.find((f) => f.pool === pool.name)?.nodeHours ?? 0)),
    ]),
    ['cost (USD)', ...policies.map((p) => usd(p.cost))],
    ...(baseline
      ? [
          [
            'node-hours vs always-on',
            ...policies.map((p) => (p === baseline ? '—' : change(p.nodeHours, baseline.nodeHours))),
          ],
        ]
      : []),
    ['cold starts', ...policies.map((p) => count(p.coldStarts))],
    ['requests that waited', ...policies.map((p) => `${count(p.waited)} of ${count(p.requests)}`)],
    ['wait p50 / p95 / p99', ...policies.map((p) => waits(p.wait))],
    ['429s', ...policies.map((p) => count(p.rejected))],
    ['refused: time to Ready p50 / p95', ...policies.map((p) => refusedWaits(p.refusedTimeToReady))],
    ['peak nodes', ...policies.map((p) => count(p.peakNodes))],
    ['budget violations', ...policies.map((p) => count(p.budgetViolations))],
  ];
  const lines = [
    `${scenario.description}`,
    `${utc(scenario.windowStartMs)} to ${utc(scenario.windowEndMs)} UTC; ${scenario.pools
      .map((p) => `${p.name} ${p.maxNodes} x ${p.gpuMemoryPerNode} at ${usd(p.pricePerNodeHour)}/node-hour`)
      .join(', ')}`,
    '',
    ...grid(rows),
    '',
    'per model: GPU hours held / cold starts / requests that waited / p95 wait',
    ...grid(perModelRows(policies)),
  ];
  return `${lines.join('\n')}\n`;
}

/** The `--what-if` trade-off curve: one row per value of the knob, the control plane as configured. */
export function whatIfTable(result: SimulationResult): string {
  if (!result.whatIf) return '';
  const rows = [
    [
      result.whatIf.knob,
      'GPU node-hours',
      'cost (USD)',
      'cold starts',
      'waited',
      'wait p95',
      '429s',
      'peak nodes',
    ],
    ...result.whatIf.points.map(({ value, result: r }) => [
      value,
      hours(r.nodeHours),
      usd(r.cost),
      count(r.coldStarts),
      count(r.waited),
      r.wait ? seconds(r.wait.p95) : '—',
      count(r.rejected),
      count(r.peakNodes),
    ]),
  ];
  return `\nwhat if ${result.whatIf.knob} (this control plane as configured otherwise):\n${grid(rows).join('\n')}\n`;
}

function perModelRows(policies: readonly PolicyResult[]): string[][] {
  const models = policies[0]?.models ?? [];
  return [
    ['model', 'requests', ...policies.map((p) => p.label)],
    ...models.map((model) => [
      model.model,
      count(model.requests),
      ...policies.map((p) => {
        const m = p.models.find((x) => x.model === model.model);
        if (!m) return '—';
        return `${hours(m.heldHours)} / ${count(m.coldStarts)} / ${count(m.waited)} / ${m.wait ? seconds(m.wait.p95) : '—'}`;
      }),
    ]),
  ];
}

function refusedWaits(wait: WaitSummary | undefined): string {
  return wait ? `${seconds(wait.p50)} / ${seconds(wait.p95)}` : '—';
}

function waits(wait: WaitSummary | undefined): string {
  return wait ? `${seconds(wait.p50)} / ${seconds(wait.p95)} / ${seconds(wait.p99)}` : '—';
}

/** Left column left-aligned, the others right-aligned, two spaces apart. */
function grid(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd(),
  );
}
