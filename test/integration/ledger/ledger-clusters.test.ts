import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbAdmissionQueue } from '../../../lambdas/adapters/dynamodb-admission-queue.js';
import { DynamoDbScaleOutRecords } from '../../../lambdas/adapters/dynamodb-scale-outs.js';
import { DynamoDbUsageStore } from '../../../lambdas/adapters/dynamodb-usage.js';
import { DynamoDbLedger, ensureLedgerTable } from '../../../lambdas/adapters/dynamodb-ledger.js';
import type { ClusterScope as LedgerScope } from '../../../lambdas/core/clusters.js';
import { LedgerError } from '../../../lambdas/core/ledger/ledger.js';
import { dynamoClient, ledgerBackends } from '../../support/ledger-backends.js';

const Gi = 2 ** 30;
const now = 1_700_000_000_000;
const a100 = { name: 'gpu-a100', totalBytes: 160 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'gpu-a100-ng' };
const production: LedgerScope = { cluster: 'production', legacyKeys: true };
const staging: LedgerScope = { cluster: 'staging', legacyKeys: false };

describe.each(ledgerBackends)('the ledger of several clusters on %s', (_backend, endpointEnv) => {
  let client: DynamoDBClient;
  let table: string;
  const ledgerOf = (scope?: LedgerScope) => new DynamoDbLedger(client, table, scope);

  beforeAll(() => {
    client = dynamoClient(endpointEnv);
  });
  afterAll(() => client.destroy());
  beforeEach(async () => {
    table = `ledger-${randomUUID()}`;
    await ensureLedgerTable(client, table);
  });

  it('keeps each cluster its own budget for pools of the same name', async () => {
    const [prod, stage] = [ledgerOf(production), ledgerOf(staging)];
    await prod.definePool(a100);
    await stage.definePool({ ...a100, totalBytes: 80 * Gi });
    await prod.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 80 * Gi, now });
    // Staging's pool is full with 80Gi: production's allocation is not counted against it, nor the reverse.
    await expect(
      stage.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 80 * Gi, now }),
    ).resolves.toMatchObject({
      outcome: 'allocated',
    });
    await expect(
      stage.allocate({ pool: 'gpu-a100', holder: 'ml/mistral', bytes: 16 * Gi, now }),
    ).resolves.toMatchObject({
      outcome: 'insufficient',
    });
    await expect(prod.readPool('gpu-a100')).resolves.toMatchObject({
      totalBytes: 160 * Gi,
      allocatedBytes: 80 * Gi,
    });
    await expect(stage.readPool('gpu-a100')).resolves.toMatchObject({
      totalBytes: 80 * Gi,
      allocatedBytes: 80 * Gi,
    });
    await stage.recordActivity({ pool: 'gpu-a100', holder: 'ml/llama', at: now + 1000 });
    expect((await prod.readPool('gpu-a100')).allocations[0]!.lastActivity).toBeUndefined();
    expect((await stage.readPool('gpu-a100')).allocations[0]!.lastActivity).toBe(now + 1000);
  });

  it("lists only the cluster's own pools", async () => {
    await ledgerOf(production).definePool(a100);
    await ledgerOf(staging).definePool({ ...a100, name: 'gpu-l4', nodeGroup: 'gpu-l4-ng' });
    await ledgerOf({ cluster: 'research', legacyKeys: false }).definePool(a100);
    expect((await ledgerOf(production).listPools()).map((pool) => pool.name)).toEqual(['gpu-a100']);
    expect((await ledgerOf(staging).listPools()).map((pool) => pool.name)).toEqual(['gpu-l4']);
  });

  it('migrates a single-cluster ledger: the cluster that keeps its keys keeps its budgets and allocations', async () => {
    // Written by the single-cluster control plane: no scope, no cluster on the items.
    const legacy = ledgerOf();
    await legacy.definePool(a100);
    await legacy.definePool({ ...a100, name: 'gpu-l4', nodeGroup: 'gpu-l4-ng', totalBytes: 96 * Gi });
    await legacy.allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
    await legacy.allocate({ pool: 'gpu-l4', holder: 'ml/whisper', bytes: 16 * Gi, now });
    await legacy.recordActivity({ pool: 'gpu-a100', holder: 'ml/llama', at: now + 5000 });
    await new DynamoDbScaleOutRecords(client, table).record(
      'gpu-a100',
      { target: 3, requestedAt: now },
      now - 1,
    );
    const waiting = { pool: 'gpu-a100', holder: 'ml/mixtral', priority: 0, bytes: 160 * Gi, at: now };
    await new DynamoDbAdmissionQueue(client, table).enqueue(waiting);
    const before = await legacy.listPools();

    // The upgrade: the same cluster, now first of two. Nothing was moved and nothing is asked of anyone.
    const prod = ledgerOf(production);
    expect(await prod.listPools()).toEqual(before);
    await expect(new DynamoDbScaleOutRecords(client, table, production).pending('gpu-a100')).resolves.toEqual(
      {
        target: 3,
        requestedAt: now,
      },
    );
    // Its admission queue is the single-cluster one, with the model still waiting in it.
    const queued = await new DynamoDbAdmissionQueue(client, table, production).list('gpu-a100');
    expect(queued.map((entry) => entry.holder)).toEqual(['ml/mixtral']);
    await expect(new DynamoDbAdmissionQueue(client, table, staging).list('gpu-a100')).resolves.toEqual([]);
    // Its scheduled pass defines its pools, which adopts them: the items now name the cluster.
    for (const pool of before) await prod.definePool(pool);
    expect(await prod.listPools()).toEqual(before);
    expect(await clusterOf('gpu-a100')).toBe('production');
    await expect(
      prod.release({ pool: 'gpu-a100', holder: 'ml/llama', fence: { bytes: 48 * Gi, since: now } }),
    ).resolves.toMatchObject({ released: true });

    // The new cluster starts empty, with pools of the same names.
    const stage = ledgerOf(staging);
    expect(await stage.listPools()).toEqual([]);
    await expect(stage.readPool('gpu-l4')).rejects.toMatchObject({ code: 'unknown_pool' });
    await stage.definePool({ ...a100, name: 'gpu-l4', nodeGroup: 'gpu-l4-ng', totalBytes: 96 * Gi });
    await expect(prod.readPool('gpu-l4')).resolves.toMatchObject({ allocatedBytes: 16 * Gi });
    await expect(stage.readPool('gpu-l4')).resolves.toMatchObject({ allocatedBytes: 0 });
  });

  it('refuses to let another cluster take over the single-cluster keys (clusters reordered)', async () => {
    await ledgerOf(production).definePool(a100);
    await ledgerOf(production).allocate({ pool: 'gpu-a100', holder: 'ml/llama', bytes: 48 * Gi, now });
    const reordered = ledgerOf({ cluster: 'staging', legacyKeys: true });
    const refusal = await reordered.definePool(a100).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(LedgerError);
    expect(refusal).toMatchObject({
      code: 'cluster_mismatch',
      message:
        'node pool "gpu-a100" under the single-cluster keys belongs to cluster "production", not "staging": list "production" first in clusters (docs/ledger.md#clusters)',
    });
    expect(await reordered.listPools()).toEqual([]);
    await expect(reordered.readPool('gpu-a100')).rejects.toMatchObject({ code: 'cluster_mismatch' });
    await expect(ledgerOf(production).readPool('gpu-a100')).resolves.toMatchObject({
      allocatedBytes: 48 * Gi,
    });
  });

  it("meters each cluster's held memory on its own, the first cluster's under the single-cluster keys", async () => {
    const hour = Date.parse('2026-12-01T10:00:00Z');
    const held = { hourStartMs: hour, pool: 'gpu-a100', namespace: 'ml', model: 'llama', byteSeconds: 3600 };
    await new DynamoDbUsageStore(client, table).add([held]);
    await new DynamoDbUsageStore(client, table, staging).add([{ ...held, byteSeconds: 7200 }]);
    // Production adopts the single-cluster usage; staging's is its own.
    await expect(new DynamoDbUsageStore(client, table, production).read(hour)).resolves.toEqual([held]);
    await expect(new DynamoDbUsageStore(client, table, staging).read(hour)).resolves.toEqual([
      { ...held, byteSeconds: 7200 },
    ]);
    // One meter each: a pass of one cluster never counts (or skips) another's interval.
    const prodUsage = new DynamoDbUsageStore(client, table, production);
    const stageUsage = new DynamoDbUsageStore(client, table, staging);
    await expect(prodUsage.advanceMeter(undefined, hour)).resolves.toBe(true);
    await expect(stageUsage.meteredUntil()).resolves.toBeUndefined();
    await expect(stageUsage.advanceMeter(undefined, hour + 60_000)).resolves.toBe(true);
    await expect(prodUsage.meteredUntil()).resolves.toBe(hour);
    const { Item } = await DynamoDBDocumentClient.from(client).send(
      new GetCommand({
        TableName: table,
        Key: { pk: 'cluster#staging#usage', sk: 'hour#2026-12-01T10:00:00.000Z#gpu-a100#ml/llama' },
        ConsistentRead: true,
      }),
    );
    expect(Item).toMatchObject({ cluster: 'staging', byteSeconds: 7200 });
  });

  async function clusterOf(pool: string): Promise<unknown> {
    const { Item } = await DynamoDBDocumentClient.from(client).send(
      new GetCommand({ TableName: table, Key: { pk: `pool#${pool}`, sk: 'budget' }, ConsistentRead: true }),
    );
    return Item?.cluster;
  }
});
