// `npm run bench:ledger`: allocate + release pairs per second on one pool at concurrency 1, 8 and 64,
// against dynalite on loopback, next to the floor measured in the same run on the same dynalite: two raw
// conditional UpdateItems on one item per pair (what allocate and release must write at the least), and
// the same floor with the pool returned by the allocate, as the ledger asks for it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../lambdas/adapters/dynamodb-ledger.js';
import { startDynalite } from '../services/dynalite.js';
import type { StartedService } from '../services/service.js';

const Gi = 2 ** 30;
const PAIRS_PER_ROW = 2_000;
const CONCURRENCY_LEVELS = [1, 8, 64];
const BLOCKS = 10;

/** One allocate + release pair by one worker; `holder` is unique to the pair. */
type Pair = (holder: string) => Promise<void>;

interface Run {
  pairsPerSecond: number;
  p50: number;
  p99: number;
}

/** Pairs and time accumulated over the blocks of one kind. */
interface Tally {
  latencies: number[];
  seconds: number;
}

/** Runs `count` pairs from `concurrency` workers into `tally`; latency is of the whole pair. */
async function block(concurrency: number, count: number, pair: Pair, tally: Tally, prefix: string) {
  let issued = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (issued < count) {
        const start = performance.now();
        await pair(`bench/${prefix}-${worker}-${issued++}`);
        tally.latencies.push(performance.now() - start);
      }
    }),
  );
  tally.seconds += (performance.now() - began) / 1000;
}

function summary({ latencies, seconds }: Tally): Run {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { pairsPerSecond: latencies.length / seconds, p50: at(0.5), p99: at(0.99) };
}

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 8,
  });
}

/** The ledger's allocate then release, through the adapter the Lambdas use. */
async function ledgerPair(dynamoDb: DynamoDBClient, concurrency: number): Promise<Pair> {
  const table = `bench-ledger-${concurrency}-${Date.now()}`;
  await ensureLedgerTable(dynamoDb, table);
  const ledger = new DynamoDbLedger(dynamoDb, table);
  // Room for every worker's allocation at once: the bench measures the write path, not refusals.
  await ledger.definePool({
    name: 'bench',
    totalBytes: concurrency * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: 'bench',
  });
  return async (holder) => {
    const now = Date.now();
    const result = await ledger.allocate({ pool: 'bench', holder, bytes: Gi, now });
    if (result.outcome === 'insufficient') throw new Error('the bench pool ran out of room');
    // already-held: an SDK retry of a write that had landed; the ledger counted it once.
    const held = result.pool.allocations.find((a) => a.holder === holder) ?? { bytes: Gi, since: now };
    await ledger.release({ pool: 'bench', holder, fence: { bytes: held.bytes, since: held.since } });
  };
}

/**
 * The floor: the same item shape and the same two conditional writes (add the allocation if it fits;
 * remove exactly that allocation), raw, with nothing read. A failed condition is retried at once, as
 * a lost race costs the ledger a retry too.
 */
async function floorPair(dynamoDb: DynamoDBClient, concurrency: number, returnPool = false): Promise<Pair> {
  const table = `bench-floor-${concurrency}-${returnPool ? 'returning-' : ''}${Date.now()}`;
  await ensureLedgerTable(dynamoDb, table);
  const key = { pk: { S: 'pool#bench' }, sk: { S: 'budget' } };
  await dynamoDb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        ...key,
        allocatedBytes: { N: '0' },
        availableBytes: { N: String(concurrency * Gi) },
        allocations: { M: {} },
      },
    }),
  );
  const write = async (command: UpdateItemCommand): Promise<void> => {
    for (;;) {
      try {
        await dynamoDb.send(command);
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  };
  return async (holder) => {
    const bytes = { N: String(Gi) };
    const since = { N: String(Date.now()) };
    await write(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'SET allocations.#h = :a ADD allocatedBytes :b, availableBytes :m',
        ConditionExpression: 'attribute_not_exists(allocations.#h) AND availableBytes >= :b',
        ExpressionAttributeNames: { '#h': holder },
        ExpressionAttributeValues: {
          ':a': { M: { bytes, since } },
          ':b': bytes,
          ':m': { N: String(-Gi) },
        },
        ...(returnPool && { ReturnValues: 'ALL_NEW' }),
      }),
    );
    await write(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'REMOVE allocations.#h ADD allocatedBytes :m, availableBytes :b',
        ConditionExpression: 'allocations.#h.bytes = :b AND allocations.#h.since = :s',
        ExpressionAttributeNames: { '#h': holder },
        ExpressionAttributeValues: { ':b': bytes, ':s': since, ':m': { N: String(-Gi) } },
      }),
    );
  };
}

const runDir = await mkdtemp(join(tmpdir(), 'ibcp-bench-'));
const services: StartedService[] = [];
try {
  const dynalite = await startDynalite(runDir);
  services.push(dynalite);
  const dynamoDb = client(dynalite.env.IBCP_DYNALITE_ENDPOINT!);
  const rows: { concurrency: number; ledger: Run; floor: Run; returning: Run }[] = [];
  for (const concurrency of CONCURRENCY_LEVELS) {
    process.stderr.write(
      `concurrency ${concurrency}: ${PAIRS_PER_ROW} pairs each, floor and ledger in turns\n`,
    );
    const floorPairs = await floorPair(dynamoDb, concurrency);
    const ledgerPairs = await ledgerPair(dynamoDb, concurrency);
    // The floor whose allocate returns the pool as it left it, as the ledger's does (ReturnValues
    // ALL_NEW, in place of a read-back): the part of the gap that is that answer's size.
    const returningPairs = await floorPair(dynamoDb, concurrency, true);
    const floor: Tally = { latencies: [], seconds: 0 };
    const ledger: Tally = { latencies: [], seconds: 0 };
    const returning: Tally = { latencies: [], seconds: 0 };
    // Blocks in turns, so that a slower moment of the machine or of dynalite weighs on both alike.
    for (let turn = 0; turn < BLOCKS; turn++) {
      await block(concurrency, PAIRS_PER_ROW / BLOCKS, floorPairs, floor, `floor-${turn}`);
      await block(concurrency, PAIRS_PER_ROW / BLOCKS, ledgerPairs, ledger, `ledger-${turn}`);
      await block(concurrency, PAIRS_PER_ROW / BLOCKS, returningPairs, returning, `returning-${turn}`);
    }
    rows.push({ concurrency, ledger: summary(ledger), floor: summary(floor), returning: summary(returning) });
  }
  dynamoDb.destroy();
  console.log(
    `\nLedger allocate + release on one pool, ${PAIRS_PER_ROW} pairs per row, dynalite on loopback; floor: two raw conditional UpdateItems per pair\n`,
  );
  console.log(
    '| concurrency | ledger pairs/s | floor pairs/s | ratio | floor returning the pool, pairs/s | ledger / it | ledger pair p50 / p99 (ms) | floor pair p50 / p99 (ms) |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  const ratios: string[] = [];
  const returningRatios: string[] = [];
  for (const { concurrency, ledger, floor, returning } of rows) {
    const ratio = ledger.pairsPerSecond / floor.pairsPerSecond;
    const toReturning = ledger.pairsPerSecond / returning.pairsPerSecond;
    ratios.push(`${ratio.toFixed(2)} at ${concurrency}`);
    returningRatios.push(toReturning.toFixed(2));
    console.log(
      `| ${concurrency} | ${ledger.pairsPerSecond.toFixed(0)} | ${floor.pairsPerSecond.toFixed(0)} | ${ratio.toFixed(2)} | ${returning.pairsPerSecond.toFixed(0)} | ${toReturning.toFixed(2)} | ${ledger.p50.toFixed(1)} / ${ledger.p99.toFixed(1)} | ${floor.p50.toFixed(1)} / ${floor.p99.toFixed(1)} |`,
    );
  }
  console.log(
    `\nSummary: ledger throughput / floor: ${ratios.join(', ')} (goal: at least 0.8); / the floor returning the pool: ${returningRatios.join(', ')}`,
  );
} finally {
  await Promise.all(services.map((s) => s.stop()));
  await rm(runDir, { recursive: true, force: true });
}
