// Showback end to end on dynalite: the scheduled pass's meter (lambdas/core/economics/metering.ts) over
// the real usage store, then `GET /v1/usage` through the real warm-up API handler, with NODE_POOLS
// prices. The route reads only the ledger table, so no cluster is involved.
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { discardedMetrics } from '../../../lambdas/core/metrics/discarded.js';
import fc from 'fast-check';
import { DynamoDbUsageStore } from '../../../lambdas/adapters/dynamodb-usage.js';
import { meterHeldMemory } from '../../../lambdas/core/economics/metering.js';
import type { PoolSnapshot } from '../../../lambdas/core/ledger/ledger.js';
import type { MetricsPorts } from '../../../lambdas/core/metrics/publish.js';
import { createWarmUpApiHandler } from '../../../lambdas/handlers/warmup-api.js';
import { harnessConfig, lambdaContext } from '../../support/lambda-environment.js';
import { dynamoClient, freshLedger } from '../../support/ledger-backends.js';

const Gi = 2 ** 30;
const HOUR = 3_600_000;
const client = dynamoClient('IBCP_DYNALITE_ENDPOINT');
const context = lambdaContext('warmup-api');
let usage: DynamoDbUsageStore;
let handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
let snapshot: (pool: string) => Promise<PoolSnapshot>;

async function get(query: Record<string, string> | null) {
  const event = {
    httpMethod: 'GET',
    path: '/v1/usage',
    queryStringParameters: query,
    body: null,
    headers: {},
  };
  const response = await handler(event as unknown as APIGatewayProxyEvent, context);
  return { status: response.statusCode, body: JSON.parse(response.body) };
}

function metricsAt(now: number): MetricsPorts {
  return discardedMetrics(() => now, 'test');
}

beforeAll(async () => {
  const fresh = await freshLedger(client);
  usage = new DynamoDbUsageStore(client, fresh.table);
  const ledger = fresh.ledger;
  await ledger.definePool({
    name: 'gpu-a100',
    totalBytes: 320 * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: 'a100',
  });
  await ledger.definePool({ name: 'gpu-l4', totalBytes: 96 * Gi, bytesPerNode: 24 * Gi, nodeGroup: 'l4' });
  snapshot = (pool) => ledger.readPool(pool);
  const config = harnessConfig(fresh.table, 'usage-test', {
    EKS_CLUSTER_NAME: 'usage-test',
    NODE_POOLS: JSON.stringify([
      {
        name: 'gpu-a100',
        nodeGroup: 'a100',
        gpuMemoryPerNode: '80Gi',
        minNodes: 0,
        maxNodes: 4,
        pricePerNodeHour: 30,
      },
      {
        name: 'gpu-l4',
        nodeGroup: 'l4',
        gpuMemoryPerNode: '24Gi',
        minNodes: 0,
        maxNodes: 4,
        instanceType: 'g6.xlarge',
      },
    ]),
  });
  handler = createWarmUpApiHandler(() => config) as unknown as typeof handler;
  // Two hours of passes, one a minute, ending a minute ago: team-a holds 40Gi of an A100 node the whole
  // time, team-b a whole L4 node for the second hour.
  const start = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;
  const a100 = await snapshot('gpu-a100');
  const l4 = await snapshot('gpu-l4');
  const held = (pool: PoolSnapshot, holder: string, gib: number, since: number): PoolSnapshot => ({
    ...pool,
    allocations: [{ holder, bytes: gib * Gi, since, lastActivity: undefined }],
  });
  for (let minute = 0; minute <= 120; minute++) {
    const now = start + minute * 60_000;
    const pools = [held(a100, 'team-a/llama-3-70b', 40, start), held(l4, 'team-b/phi-3', 24, start + HOUR)];
    await meterHeldMemory({ usage, metrics: metricsAt(now) }, pools, () => undefined);
  }
});

afterAll(() => client.destroy());

describe('showback on dynalite', () => {
  it('meters each interval once: a pass that lost the race to move the meter adds nothing', async () => {
    const until = await usage.meteredUntil();
    expect(await usage.advanceMeter(until! - 60_000, until! + 60_000)).toBe(false);
    expect(await usage.meteredUntil()).toBe(until);
  });

  it('GET /v1/usage turns two hours of held memory into node-hours and cost per namespace', async () => {
    const { status, body } = await get({ since: '3h' });
    expect(status).toBe(200);
    // team-a: 40Gi of 80Gi nodes for 2 hours = 1 node-hour at $30; team-b: a 24Gi node for 1 hour at
    // the g6.xlarge default of $0.805.
    expect(body.namespaces).toEqual([
      {
        namespace: 'team-a',
        gpuNodeHours: 1,
        cost: 30,
        pools: [
          {
            pool: 'gpu-a100',
            gpuNodeHours: 1,
            cost: 30,
            models: [{ model: 'llama-3-70b', gpuNodeHours: 1, cost: 30 }],
          },
        ],
      },
      {
        namespace: 'team-b',
        gpuNodeHours: 1,
        cost: 0.81,
        pools: [
          {
            pool: 'gpu-l4',
            gpuNodeHours: 1,
            cost: 0.81,
            models: [{ model: 'phi-3', gpuNodeHours: 1, cost: 0.81 }],
          },
        ],
      },
    ]);
    expect(body.currency).toBe('USD');
    expect(Date.parse(body.since) % HOUR).toBe(0);
  });

  it('a window after the usage reports nothing; a bad since is a 400 in the envelope', async () => {
    expect((await get({ since: '1s' })).body.namespaces).toEqual([]);
    const bad = await get({ since: 'last week' });
    expect(bad).toEqual({
      status: 400,
      body: {
        error: {
          type: 'invalid_request_error',
          code: 'invalid_request',
          message: expect.stringMatching(/^since must be an RFC 3339 time/),
        },
      },
    });
    expect((await get({ until: 'now' })).status).toBe(400);
  });

  it('answers 2,000 generated since values with 200 or a 400 in the envelope, never a 5xx', async () => {
    const since = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.stringMatching(/^\d{1,6}[hms]$/),
      fc
        .date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString()),
      fc.constantFrom('', '0s', '1h1h', '2026-02-30T00:00:00Z', '2026-12-01T00:00:00', '\u0000', '%00'),
    );
    await fc.assert(
      fc.asyncProperty(since, async (value) => {
        const { status, body } = await get({ since: value });
        expect([200, 400]).toContain(status);
        if (status === 400)
          expect(body.error).toEqual({
            type: 'invalid_request_error',
            code: 'invalid_request',
            message: expect.any(String),
          });
      }),
      { numRuns: 2000 },
    );
  });
});
