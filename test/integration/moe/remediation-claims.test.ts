import { GetCommand, QueryCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRemediationStore } from '../../../lambdas/adapters/dynamodb-remediation.js';
import type { ActionRecord } from '../../../lambdas/core/remediation/ports.js';
import { dynamoClient, freshLedger } from '../../support/ledger-backends.js';

/** The claims contract of lambdas/core/remediation/remediate.ts on dynalite: lease, limits, append-only log. */
const client = dynamoClient('IBCP_DYNALITE_ENDPOINT');
const T0 = Date.parse('2026-11-27T12:00:00Z');
const plan = { before: { batch_size: '16' }, after: { batch_size: '8' } };
const request = (workload: string, key: string, now: number, extra: object = {}) => ({
  workload,
  key,
  counted: true,
  limit: 3,
  totalLimit: 10,
  now,
  leaseMs: 75_000,
  plan,
  ...extra,
});

let store: DynamoDbRemediationStore;
let table: string;
beforeEach(async () => {
  ({ table } = await freshLedger(client));
  store = new DynamoDbRemediationStore(client, table);
});

describe('DynamoDbRemediationStore', () => {
  it('holds a claim in progress under its lease, hands it over once the lease runs out, and is done when completed', async () => {
    const key = 'GPUMemoryUsageHigh@2026-11-27T11:59:00.000Z';
    expect(await store.claim(request('ml/trainer', key, T0))).toEqual({ status: 'claimed' });
    expect(await store.claim(request('ml/trainer', key, T0 + 30_000))).toEqual({ status: 'in-progress' });
    expect(await store.claim(request('ml/trainer', key, T0 + 75_001))).toEqual({ status: 'resumed', plan });
    await store.complete({ workload: 'ml/trainer', key });
    expect(await store.claim(request('ml/trainer', key, T0 + 200_000))).toEqual({ status: 'duplicate' });
  });

  it('limits counted actions per workload and across all workloads in one rolling hour', async () => {
    const claims = [];
    for (let i = 0; i < 4; i++) {
      claims.push((await store.claim(request(`ml/w${i}`, `k${i}`, T0 + i, { totalLimit: 3 }))).status);
    }
    claims.push((await store.claim(request('ml/w0', 'k-more', T0 + 10, { limit: 1 }))).status);
    expect(claims).toEqual(['claimed', 'claimed', 'claimed', 'rate-limited', 'rate-limited']);
    expect(await store.claim(request('ml/w9', 'later', T0 + 3600_000 + 10, { totalLimit: 3 }))).toEqual({
      status: 'claimed',
    });
  });

  it('appends records only: recording the same claim again keeps the first record', async () => {
    const record: ActionRecord & { claim: string } = {
      workload: 'ml/trainer',
      action: 'GPUMemoryUsageHigh',
      outcome: 'applied',
      trigger: 'test',
      actor: 'test',
      at: T0,
      before: plan.before,
      after: plan.after,
      message: 'first',
      undo: [],
      runbook: 'docs/runbooks/GPUMemoryUsageHigh.md',
      claim: 'GPUMemoryUsageHigh@2026-11-27T11:59:00.000Z',
    };
    await store.record(record);
    await store.record({ ...record, at: T0 + 1000, message: 'second' });
    const documents = DynamoDBDocumentClient.from(client);
    const { Items } = await documents.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
        ExpressionAttributeValues: { ':pk': 'remediation#ml/trainer', ':a': 'action#' },
      }),
    );
    expect(Items!.map((item) => item.message)).toEqual(['first']);
    const { Item } = await documents.send(
      new GetCommand({ TableName: table, Key: { pk: 'remediation#claims', sk: 'claims' } }),
    );
    expect(Item).toBeUndefined();
  });
});
