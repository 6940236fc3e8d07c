// `npm run bench:node-packing`: how long packing a pool's allocations onto nodes takes (first-fit
// decreasing), which every warm-up that allocates and every scheduled pass does per pool. The ledger
// holds at most a few thousand allocations per pool (docs/ledger.md); the target is well under the
// few milliseconds that would show next to a warm-up's round trips (docs/warmup-api.md). The floor,
// measured in the same run: sorting the same allocations by size, which first-fit decreasing starts with.
import { performance } from 'node:perf_hooks';
import { packOntoNodes, type Item } from '../lambdas/core/nodes/packing.js';

const Gi = 2 ** 30;
const PER_NODE = 640 * Gi; // 8 x 80Gi
const ROUNDS = 200;

/** Deterministic sizes, so runs compare: a mix of common model sizes, or the worst case for first fit. */
function allocations(count: number, mix: 'models' | 'one-per-node'): Item[] {
  const sizes = mix === 'models' ? [8, 16, 24, 48, 80, 140, 160] : [330];
  return Array.from({ length: count }, (_, i) => ({
    holder: `ns-${i % 50}/model-${i}`,
    bytes: sizes[(i * 7919) % sizes.length]! * Gi,
  }));
}

const rows: string[][] = [];
const ratios: string[] = [];
for (const count of [100, 1_000, 6_000]) {
  for (const mix of ['models', 'one-per-node'] as const) {
    const items = allocations(count, mix);
    const [times, floorTimes] = [[] as number[], [] as number[]];
    let nodes = 0;
    // Packing and floor alternate, so that what else runs on the machine weighs on both alike.
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      nodes = packOntoNodes(items, PER_NODE).nodes.length;
      times.push(performance.now() - started);
      started = performance.now();
      [...items].sort((a, b) => b.bytes - a.bytes);
      floorTimes.push(performance.now() - started);
    }
    const [p50, p99, floor50] = [at(times, 0.5), at(times, 0.99), at(floorTimes, 0.5)];
    ratios.push(`${count} ${mix} ${(p50 / floor50).toFixed(1)}`);
    rows.push([
      String(count),
      mix,
      String(nodes),
      p50.toFixed(3),
      p99.toFixed(3),
      floor50.toFixed(3),
      (p50 / floor50).toFixed(1),
    ]);
  }
}

function at(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const header = ['allocations', 'sizes', 'nodes', 'p50 (ms)', 'p99 (ms)', 'floor p50 (ms)', 'ratio p50'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 1) + ':').join('|')}|`);
for (const row of rows) console.log(line(row));
console.log(`\nSummary: packing p50 / floor (sort by size) p50: ${ratios.join(', ')}`);
