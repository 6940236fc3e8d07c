import { htmlReport } from '../../../simulation/economics/report/html.js';
import { sideBySide, whatIfTable } from '../../../simulation/economics/report/table.js';
import { sampleResult } from '../../support/simulation-result.js';

const HOUR = 3_600_000;

describe('the recorder', () => {
  const result = sampleResult();
  const [alwaysOn, controlPlane] = result.policies;

  it('integrates nodes over the window into node-hours and cost per pool', () => {
    // gpu-h100: 1 node for 8 h, 2 for 10 h, 1 for the last 6 h = 34 node-hours at $55.04.
    const h100 = controlPlane!.pools.find((p) => p.pool === 'gpu-h100')!;
    expect(h100).toEqual({ pool: 'gpu-h100', nodeHours: 34, cost: 1871.36, peakNodes: 2 });
    // All pools peak together from 08:00: 2 + 3 + 4 nodes.
    expect(controlPlane!.peakNodes).toBe(9);
    expect(controlPlane!.nodeHours).toBeCloseTo(34 + 44 + 54, 9);
  });

  it('counts cold starts, held hours, waits and 429s per model and in all', () => {
    const first = controlPlane!.models[0]!;
    expect(first).toMatchObject({ requests: 10, coldStarts: 3, waited: 1, rejected: 0, heldHours: 3 });
    expect(controlPlane!.coldStarts).toBe(60);
    expect(controlPlane!.rejected).toBe(1);
    expect(controlPlane!.wait).toEqual({ p50: 150, p95: 240, p99: 250, max: 250 });
    expect(controlPlane!.timelines[first.model]).toEqual([
      {
        fromMs: result.scenario.windowStartMs + 7 * HOUR,
        toMs: result.scenario.windowStartMs + 7 * HOUR + 300_000,
        state: 'starting',
      },
      {
        fromMs: result.scenario.windowStartMs + 7 * HOUR + 300_000,
        toMs: result.scenario.windowStartMs + 8 * HOUR,
        state: 'up',
      },
      expect.anything(),
      expect.anything(),
      expect.anything(),
      expect.anything(),
    ]);
    expect(alwaysOn!.budgetViolations).toBe(0);
  });
});

describe('the side-by-side table', () => {
  const table = sideBySide(sampleResult());

  it('puts the policies in columns and the figures the issue asks for in rows', () => {
    const lines = table.split('\n');
    expect(lines[3]).toMatch(/^\s+always-on\s+control plane\s+idle from scale-up$/);
    for (const row of [
      'GPU node-hours',
      'cost (USD)',
      'node-hours vs always-on',
      'cold starts',
      'requests that waited',
      'wait p50 / p95 / p99',
      '429s',
      'peak nodes',
      'budget violations',
    ]) {
      expect(lines.some((line) => line.startsWith(row))).toBe(true);
    }
    expect(table).toMatch(/cost \(USD\)\s+\$[\d,]+\.\d\d\s+\$[\d,]+\.\d\d\s+\$[\d,]+\.\d\d/);
    expect(table).toMatch(/wait p50 \/ p95 \/ p99\s+2m30s \/ 4m00s \/ 4m10s/);
    expect(table).toMatch(/^chat\/llama-3-70b\s+10\s+/m);
  });

  it('prints the what-if curve, one row per value', () => {
    const curve = whatIfTable(sampleResult()).split('\n');
    expect(curve[1]).toBe('what if gpu-l4.maxNodes (this control plane as configured otherwise):');
    expect(curve.slice(3, 6).map((line) => line.split(/\s+/)[0])).toEqual(['2', '4', '8']);
  });
});

describe('the HTML report', () => {
  const html = htmlReport(sampleResult());

  it('is self-contained: no script, no stylesheet or image from elsewhere', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).not.toMatch(/@import/i);
  });

  it('draws nodes per pool, a timeline per policy and the what-if curves', () => {
    expect(html.match(/<svg class="chart nodes"/g)).toHaveLength(3);
    expect(html.match(/<svg class="chart timeline"/g)).toHaveLength(3);
    expect(html.match(/<svg class="chart what-if"/g)).toHaveLength(3);
  });

  it('escapes what it quotes', () => {
    const result = sampleResult();
    const hostile = htmlReport({
      ...result,
      scenario: { ...result.scenario, description: '<img src=x onerror=alert(1)>' },
    });
    expect(hostile).not.toContain('<img');
    expect(hostile).toContain('&#60;img src=x onerror=alert(1)&#62;');
  });
});
