// The simulator's HTML report opened in Debian's headless Chromium: no console error, nothing fetched
// from anywhere, and every chart drawn with visible marks.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htmlReport } from '../../../simulation/economics/report/html.js';
import { openInChromium, type OpenedPage } from '../../support/chromium.js';
import { sampleResult } from '../../support/simulation-result.js';

let dir: string;
let page: OpenedPage;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simulate-report-'));
  const path = join(dir, 'report.html');
  await writeFile(path, htmlReport(sampleResult()));
  page = await openInChromium(path);
});

afterAll(async () => {
  await page?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the simulation report in Chromium', () => {
  it('loads with no console error and asks for nothing beyond itself', () => {
    expect(page.errors).toEqual([]);
    expect(page.requests).toEqual([]);
  });

  it('draws every chart: node lines, timeline segments and the what-if curves, all with a size', async () => {
    const charts = await page.evaluate<
      { kind: string; width: number; height: number; marks: number; drawn: number }[]
    >(`
      [...document.querySelectorAll('svg.chart')].map((svg) => {
        const box = svg.getBoundingClientRect();
        const marks = [...svg.querySelectorAll('path, rect, polyline, circle')];
        return {
          kind: svg.classList[1],
          width: Math.round(box.width),
          height: Math.round(box.height),
          marks: marks.length,
          drawn: marks.filter((m) => { const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length,
        };
      })`);
    expect(charts.map((c) => c.kind)).toEqual([
      'nodes',
      'nodes',
      'nodes',
      'what-if',
      'what-if',
      'what-if',
      'timeline',
      'timeline',
      'timeline',
    ]);
    for (const chart of charts) {
      expect(chart.width).toBeGreaterThan(500);
      expect(chart.height).toBeGreaterThan(100);
      expect(chart.marks).toBeGreaterThan(0);
      expect(chart.drawn).toBe(chart.marks);
    }
    // Three policies' lines in each node chart; each timeline has a background bar per model and segments.
    expect(charts.filter((c) => c.kind === 'nodes').map((c) => c.marks)).toEqual([3, 3, 3]);
    expect(charts.filter((c) => c.kind === 'timeline').every((c) => c.marks > 20 * 2)).toBe(true);
  });

  it('shows the side-by-side table with one column per policy', async () => {
    const header = await page.evaluate<string[]>(
      `[...document.querySelectorAll('table.summary thead th')].map((th) => th.textContent)`,
    );
    expect(header).toEqual(['', 'always-on', 'control plane', 'idle from scale-up']);
  });
});
