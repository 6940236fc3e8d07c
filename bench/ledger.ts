// `npm run bench:ledger`: allocations per second and allocate latency (p50/p99) on one pool, at
// concurrency 1, 8 and 64, against dynalite on loopback.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../lambdas/adapters/dynamodb-ledger.js';
import { startDynalite } from '../test/harness/dynalite.js';
import type { StartedService } from '../test/harness/service.js';

const Gi = 2 ** 30;
const OPERATIONS_PER_LEVEL = 2_000;
const CONCURRENCY_LEVELS = [1, 8, 64];

interface Row {
  backend: string;
  concurrency: number;
  allocationsPerSecond: number;
  p50: number;
  p99: number;
}

async function measure(backend: string, endpoint: string, concurrency: number): Promise<Row> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 8,
  });
  const table = `bench-${concurrency}-${Date.now()}`;
  await ensureLedgerTable(client, table);
  const ledger = new DynamoDbLedger(client, table);
  // Room for every worker's allocation at once: the bench measures the write path, not refusals.
  await ledger.definePool({
    name: 'bench',
    totalBytes: concurrency * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: 'bench',
  });
  const latencies: number[] = [];
  let issued = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (issued < OPERATIONS_PER_LEVEL) {
        const holder = `bench/model-${worker}-${issued++}`;
        const start = performance.now();
        const now = Date.now();
        const result = await ledger.allocate({ pool: 'bench', holder, bytes: Gi, now });
        latencies.push(performance.now() - start);
        // already-held: an SDK retry of a write that had landed; the ledger counted it once.
        if (result.outcome === 'insufficient') throw new Error('the bench pool ran out of room');
        const held = result.pool.allocations.find((a) => a.holder === holder) ?? { bytes: Gi, since: now };
        await ledger.release({ pool: 'bench', holder, fence: { bytes: held.bytes, since: held.since } });
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  client.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    backend,
    concurrency,
    allocationsPerSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

const runDir = await mkdtemp(join(tmpdir(), 'ibcp-bench-'));
const services: StartedService[] = [];
try {
  // dynalite only: moto does not serialize conditional writes on one item (see the ledger race test),
  // so its figures under concurrency would describe a store the ledger cannot run on.
  const dynalite = await startDynalite(runDir);
  services.push(dynalite);
  const targets: [string, string][] = [['dynalite', dynalite.env.IBCP_DYNALITE_ENDPOINT!]];
  const rows: Row[] = [];
  for (const [backend, endpoint] of targets) {
    for (const concurrency of CONCURRENCY_LEVELS) {
      process.stderr.write(
        `measuring ${backend} at concurrency ${concurrency} (${OPERATIONS_PER_LEVEL} allocations)\n`,
      );
      rows.push(await measure(backend, endpoint, concurrency));
    }
  }
  console.log(`\nLedger allocate + release, ${OPERATIONS_PER_LEVEL} allocations per row, one pool\n`);
  console.log('| backend | concurrency | allocations/s | allocate p50 (ms) | allocate p99 (ms) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.backend} | ${r.concurrency} | ${r.allocationsPerSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`,
    );
  }
} finally {
  await Promise.all(services.map((s) => s.stop()));
  await rm(runDir, { recursive: true, force: true });
}
