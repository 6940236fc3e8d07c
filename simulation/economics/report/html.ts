import type { PolicyResult, SimulationResult, StepSeries, TimelineSegment } from '../result.js';
import { change, count, hours, seconds, usd, utc } from './format.js';

/**
 * The report: one self-contained HTML file (inline CSS and SVG, no script, no external asset), so it
 * opens offline and can be attached to a ticket. Charts: nodes per pool over time for each policy, each
 * model's up/starting/down timeline per policy, and the `--what-if` curve.
 */
export function htmlReport(result: SimulationResult): string {
  const { scenario, policies } = result;
  const colors = new Map(policies.map((p, i) => [p.policy, PALETTE[i % PALETTE.length]!]));
  const baseline = policies.find((p) => p.policy === 'always-on');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GPU economics: ${escape(scenario.description)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>GPU economics replay</h1>
<p class="lead">${escape(scenario.description)}. ${escape(utc(scenario.windowStartMs))} to ${escape(utc(scenario.windowEndMs))} UTC, ${count(scenario.requests)} requests, ${count(scenario.models)} models.</p>
<h2>Side by side</h2>
${summaryTable(result, baseline)}
<ul class="policies">${policies.map((p) => `<li><span class="swatch" style="background:${colors.get(p.policy)}"></span><b>${escape(p.label)}</b>: ${escape(p.description)}</li>`).join('')}</ul>
<h2>Nodes per pool</h2>
${scenario.pools.map((pool) => nodeChart(pool.name, pool.maxNodes, policies, colors, scenario.windowStartMs, scenario.windowEndMs)).join('\n')}
${result.whatIf ? whatIfSection(result) : ''}
<h2>Model timelines</h2>
<p class="legend"><span class="swatch up"></span>up <span class="swatch starting"></span>starting (node boot, image pull, weights loading) <span class="swatch down"></span>down</p>
${policies.map((p) => timelineChart(p, scenario.windowStartMs, scenario.windowEndMs)).join('\n')}
<h2>Per model</h2>
${modelTable(policies)}
<p class="foot">Replayed by <code>npm run simulate</code> in ${result.elapsedSeconds.toFixed(1)} s through the control plane's own code (lambdas/core). Cost = node-hours x the pool's price per node-hour (docs/simulate.md).</p>
</body>
</html>
`;
}

const PALETTE = ['#6b7280', '#2563eb', '#d97706', '#059669', '#9333ea', '#dc2626'];
const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#111827;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.lead{color:#374151;margin:0 0 12px}table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;text-align:right;border-bottom:1px solid #f3f4f6}th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #d1d5db}tr.sub td:first-child{padding-left:24px;color:#4b5563}
td.bad{color:#b91c1c;font-weight:600}.policies{list-style:none;padding:0}.policies li{margin:2px 0}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
.swatch.up{background:#16a34a}.swatch.starting{background:#f59e0b}.swatch.down{background:#e5e7eb}
svg{display:block;margin:6px 0 14px}svg text{font:11px system-ui,sans-serif;fill:#374151}
.axis{stroke:#9ca3af;stroke-width:1}.grid{stroke:#f3f4f6;stroke-width:1}.foot{color:#6b7280;margin-top:28px}
table.models td,table.models th{font-size:12px}`;

function summaryTable(result: SimulationResult, baseline: PolicyResult | undefined): string {
  const { policies, scenario } = result;
  const row = (label: string, cells: string[], cls = '') =>
    `<tr${cls ? ` class="${cls}"` : ''}><td>${escape(label)}</td>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  return `<table class="summary"><thead><tr><th></th>${policies.map((p) => `<th>${escape(p.label)}</th>`).join('')}</tr></thead><tbody>
${row(
  'GPU node-hours',
  policies.map((p) => hours(p.nodeHours)),
)}
${scenario.pools
  .map((pool) =>
    row(
      pool.name,
      policies.map((p) => hours(p.pools.find((f) => f.pool === pool.name)?.nodeHours ?? 0)),
      'sub',
    ),
  )
  .join('\n')}
${row(
  'cost (USD)',
  policies.map((p) => usd(p.cost)),
)}
${
  baseline
    ? row(
        'node-hours vs always-on',
        policies.map((p) => (p === baseline ? '—' : change(p.nodeHours, baseline.nodeHours))),
      )
    : ''
}
${row(
  'cold starts',
  policies.map((p) => count(p.coldStarts)),
)}
${row(
  'requests that waited',
  policies.map((p) => `${count(p.waited)} of ${count(p.requests)}`),
)}
${row(
  'wait p50 / p95 / p99',
  policies.map((p) =>
    p.wait ? `${seconds(p.wait.p50)} / ${seconds(p.wait.p95)} / ${seconds(p.wait.p99)}` : '—',
  ),
)}
${row(
  '429s',
  policies.map((p) => count(p.rejected)),
)}
${row(
  'peak nodes',
  policies.map((p) => count(p.peakNodes)),
)}
<tr><td>budget violations</td>${policies.map((p) => `<td${p.budgetViolations > 0 ? ' class="bad"' : ''}>${count(p.budgetViolations)}</td>`).join('')}</tr>
</tbody></table>`;
}

function modelTable(policies: readonly PolicyResult[]): string {
  const models = policies[0]?.models ?? [];
  return `<table class="models"><thead><tr><th>model</th><th>pool</th><th>requests</th>${policies
    .map((p) => `<th>${escape(p.label)}<br>held h / cold / waited / p95</th>`)
    .join('')}</tr></thead><tbody>
${models
  .map(
    (model) =>
      `<tr><td>${escape(model.model)}</td><td>${escape(model.pool)}</td><td>${count(model.requests)}</td>${policies
        .map((p) => {
          const m = p.models.find((x) => x.model === model.model);
          return `<td>${m ? `${hours(m.heldHours)} / ${count(m.coldStarts)} / ${count(m.waited)} / ${m.wait ? seconds(m.wait.p95) : '—'}` : '—'}</td>`;
        })
        .join('')}</tr>`,
  )
  .join('\n')}
</tbody></table>`;
}

const WIDTH = 1060;
const LEFT = 150;
const RIGHT = 16;
const PLOT = WIDTH - LEFT - RIGHT;

function nodeChart(
  pool: string,
  maxNodes: number,
  policies: readonly PolicyResult[],
  colors: ReadonlyMap<string, string>,
  startMs: number,
  endMs: number,
): string {
  const height = 170;
  const top = 22;
  const bottom = 24;
  const plotHeight = height - top - bottom;
  const peak = Math.max(
    1,
    maxNodes,
    ...policies.map((p) => Math.max(0, ...(p.nodes[pool] ?? []).map(([, v]) => v))),
  );
  const y = (value: number) => top + plotHeight - (value / peak) * plotHeight;
  const x = timeScale(startMs, endMs);
  const yTicks = integerTicks(peak);
  const lines = policies.map((p, i) => {
    const series = p.nodes[pool] ?? [];
    // Offset each policy by a pixel so identical lines stay visible.
    const path = stepPath(series, x, (v) => y(v) - i, startMs, endMs);
    return `<path d="${path}" fill="none" stroke="${colors.get(p.policy)}" stroke-width="2"><title>${escape(`${p.label}: ${hours(p.pools.find((f) => f.pool === pool)?.nodeHours ?? 0)} node-hours in ${pool}`)}</title></path>`;
  });
  return `<svg class="chart nodes" role="img" aria-label="nodes in ${escape(pool)}" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">
<text x="${LEFT}" y="14" font-weight="600">nodes in ${escape(pool)}</text>
${yTicks.map((v) => `<line class="grid" x1="${LEFT}" x2="${LEFT + PLOT}" y1="${y(v)}" y2="${y(v)}"/><text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`).join('')}
${timeAxis(startMs, endMs, top + plotHeight)}
${lines.join('\n')}
</svg>`;
}

function timelineChart(policy: PolicyResult, startMs: number, endMs: number): string {
  const models = Object.keys(policy.timelines).sort();
  const rowHeight = 14;
  const top = 22;
  const height = top + models.length * rowHeight + 26;
  const x = timeScale(startMs, endMs);
  const rows = models.map((model, i) => {
    const y = top + i * rowHeight;
    const segments = (policy.timelines[model] ?? []).map((s) =>
      segmentRect(s, x, y + 2, rowHeight - 4, model),
    );
    return `<text x="${LEFT - 6}" y="${y + rowHeight - 3}" text-anchor="end">${escape(model)}</text><rect x="${LEFT}" y="${y + 2}" width="${PLOT}" height="${rowHeight - 4}" fill="#e5e7eb"/>${segments.join('')}`;
  });
  return `<svg class="chart timeline" role="img" aria-label="model timelines, ${escape(policy.label)}" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">
<text x="${LEFT}" y="14" font-weight="600">${escape(policy.label)}</text>
${rows.join('\n')}
${timeAxis(startMs, endMs, top + models.length * rowHeight)}
</svg>`;
}

function segmentRect(
  segment: TimelineSegment,
  x: (ms: number) => number,
  y: number,
  h: number,
  model: string,
): string {
  const from = x(segment.fromMs);
  const width = Math.max(0.5, x(segment.toMs) - from);
  const color = segment.state === 'up' ? '#16a34a' : '#f59e0b';
  return `<rect x="${from.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${h}" fill="${color}"><title>${escape(`${model} ${segment.state} ${utc(segment.fromMs)} to ${utc(segment.toMs)}`)}</title></rect>`;
}

function whatIfSection(result: SimulationResult): string {
  const whatIf = result.whatIf!;
  const points = whatIf.points;
  const height = 200;
  const top = 22;
  const bottom = 34;
  const plotHeight = height - top - bottom;
  const xAt = (i: number) => LEFT + (points.length === 1 ? PLOT / 2 : (i / (points.length - 1)) * PLOT);
  const chart = (title: string, values: number[], format: (v: number) => string, color: string) => {
    const peak = Math.max(1e-9, ...values);
    const y = (v: number) => top + plotHeight - (v / peak) * plotHeight;
    return `<svg class="chart what-if" role="img" aria-label="${escape(title)}" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">
<text x="${LEFT}" y="14" font-weight="600">${escape(title)}</text>
<line class="axis" x1="${LEFT}" x2="${LEFT + PLOT}" y1="${top + plotHeight}" y2="${top + plotHeight}"/>
<polyline fill="none" stroke="${color}" stroke-width="2" points="${values.map((v, i) => `${xAt(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>
${values.map((v, i) => `<circle cx="${xAt(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${color}"><title>${escape(`${whatIf.knob}=${points[i]!.value}: ${format(v)}`)}</title></circle><text x="${xAt(i).toFixed(1)}" y="${y(v) - 7}" text-anchor="middle">${escape(format(v))}</text><text x="${xAt(i).toFixed(1)}" y="${top + plotHeight + 16}" text-anchor="middle">${escape(points[i]!.value)}</text>`).join('')}
</svg>`;
  };
  return `<h2>What if: ${escape(whatIf.knob)}</h2>
${chart(
  `GPU node-hours by ${whatIf.knob}`,
  points.map((p) => p.result.nodeHours),
  hours,
  '#2563eb',
)}
${chart(
  `p95 wait (seconds) by ${whatIf.knob}`,
  points.map((p) => p.result.wait?.p95 ?? 0),
  seconds,
  '#d97706',
)}
${chart(
  `cold starts by ${whatIf.knob}`,
  points.map((p) => p.result.coldStarts),
  count,
  '#059669',
)}`;
}

function timeScale(startMs: number, endMs: number): (ms: number) => number {
  const span = Math.max(1, endMs - startMs);
  return (ms) => LEFT + ((Math.min(endMs, Math.max(startMs, ms)) - startMs) / span) * PLOT;
}

const TICK_STEPS_H = [1, 2, 3, 6, 12, 24, 48, 168];

function timeAxis(startMs: number, endMs: number, y: number): string {
  const x = timeScale(startMs, endMs);
  const spanH = (endMs - startMs) / 3_600_000;
  const stepH = TICK_STEPS_H.find((s) => spanH / s <= 12) ?? 168;
  const ticks: string[] = [];
  for (
    let t = Math.ceil(startMs / (stepH * 3_600_000)) * stepH * 3_600_000;
    t <= endMs;
    t += stepH * 3_600_000
  ) {
    const label =
      spanH <= 48
        ? new Date(t).toISOString().slice(11, 16)
        : new Date(t).toISOString().slice(5, 16).replace('T', ' ');
    ticks.push(
      `<line class="axis" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${y}" y2="${y + 4}"/><text x="${x(t).toFixed(1)}" y="${y + 16}" text-anchor="middle">${label}</text>`,
    );
  }
  return `<line class="axis" x1="${LEFT}" x2="${LEFT + PLOT}" y1="${y}" y2="${y}"/>${ticks.join('')}`;
}

function stepPath(
  series: StepSeries,
  x: (ms: number) => number,
  y: (v: number) => number,
  startMs: number,
  endMs: number,
): string {
  const parts = [`M${x(startMs).toFixed(1)},${y(0).toFixed(1)}`];
  for (const [t, v] of series) {
    if (t > endMs) break;
    parts.push(`H${x(t).toFixed(1)}`, `V${y(v).toFixed(1)}`);
  }
  parts.push(`H${x(endMs).toFixed(1)}`);
  return parts.join('');
}

function integerTicks(peak: number): number[] {
  const step = Math.max(1, Math.ceil(peak / 5));
  const ticks: number[] = [];
  for (let v = 0; v <= peak; v += step) ticks.push(v);
  return ticks;
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
