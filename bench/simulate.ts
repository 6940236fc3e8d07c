// `npm run bench:simulate`: replay speed of `npm run simulate` on a day of 1,000,000 requests over the
// default day's 20 models, from a CSV trace on disk. The floor is reading and parsing the same trace
// with nothing replayed (the least any replay must do); the ratio is what the replay adds.
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { holderOf } from '../lambdas/core/inference-model.js';
import { defaultDay } from '../simulation/economics/default-day.js';
import { readTrace } from '../simulation/economics/inputs/trace.js';
import { simulate } from '../simulation/economics/replay/simulate.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1_000_000);
const dir = await mkdtemp(join(tmpdir(), 'bench-simulate-'));
try {
  const day = defaultDay({ requestsPerDay: REQUESTS });
  const path = join(dir, 'trace.csv');
  const file = createWriteStream(path);
  let written = 0;
  for await (const r of day.openTrace()) {
    if (!file.write(`${new Date(r.atMs).toISOString()},${r.namespace},${r.name}\n`)) {
      await new Promise<void>((resolve) => file.once('drain', () => resolve()));
    }
    written++;
  }
  await new Promise<void>((resolve) => file.end(resolve));
  process.stderr.write(
    `[bench] ${written.toLocaleString('en-US')} requests in ${path} (${((await stat(path)).size / 2 ** 20).toFixed(0)} MiB)\n`,
  );

  const known = new Set(day.models.map(holderOf));
  const scenario = { ...day, openTrace: () => readTrace(path, known) };

  let started = performance.now();
  let parsed = 0;
  for await (const request of readTrace(path, known)) parsed += request.atMs > 0 ? 1 : 0;
  const floorSeconds = (performance.now() - started) / 1000;

  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  started = performance.now();
  const result = await simulate(scenario, undefined, (line) => process.stderr.write(`[simulate] ${line}\n`));
  const replaySeconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  const rows = [
    ['floor: read and parse the trace', parsed, floorSeconds, '1.0'],
    [
      `replay: ${result.policies.map((p) => p.label).join(', ')} (scan + replay)`,
      result.scenario.requests,
      replaySeconds,
      (replaySeconds / floorSeconds).toFixed(1),
    ],
  ] as const;
  console.log(`| run | requests | seconds | requests/s | x floor |`);
  console.log(`| --- | ---: | ---: | ---: | ---: |`);
  for (const [run, requests, seconds, ratio] of rows) {
    console.log(
      `| ${run} | ${requests.toLocaleString('en-US')} | ${seconds.toFixed(1)} | ${Math.round(requests / seconds).toLocaleString('en-US')} | ${ratio} |`,
    );
  }
  console.log(
    `\npeak resident memory: ${(peakRss / 2 ** 20).toFixed(0)} MiB; goal: 1,000,000 requests in under 30 s`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
