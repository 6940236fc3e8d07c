import { DynamoDbMetricCounters } from '../../../lambdas/adapters/dynamodb-metric-counters.js';
import { dynamoClient, freshLedger } from '../../support/ledger-backends.js';

describe('DynamoDbMetricCounters on dynalite', () => {
  const client = dynamoClient('IBCP_DYNALITE_ENDPOINT');
  afterAll(() => client.destroy());

  it('counts every increment of racing callers once, per label set', async () => {
    const { table } = await freshLedger(client);
    const counters = new DynamoDbMetricCounters(client, table);
    const totals = await Promise.all(
      Array.from({ length: 50 }, () => counters.increment('rejections_total', { node_pool: 'a' }, 1)),
    );
    expect(new Set(totals).size).toBe(50);
    expect(Math.max(...totals)).toBe(50);
    expect(await counters.increment('rejections_total', { node_pool: 'a' }, 0)).toBe(50);
    expect(await counters.increment('rejections_total', { node_pool: 'b' }, 0)).toBe(0);
  });

  it('keeps histogram buckets, sum and count', async () => {
    const { table } = await freshLedger(client);
    const counters = new DynamoDbMetricCounters(client, table);
    await counters.observe('cold_start_seconds', {}, [10, 60], 5);
    await counters.observe('cold_start_seconds', {}, [10, 60], 30);
    const state = await counters.observe('cold_start_seconds', {}, [10, 60], 600);
    expect(state).toEqual({ buckets: [10, 60], counts: [1, 1], sum: 635, count: 3 });
  });
});
