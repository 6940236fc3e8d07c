// The warm-up API handler end to end: API Gateway proxy events in, the real kube-apiserver with KWOK GPU
// nodes, the ledger on dynalite, reconcile requests to moto's EventBridge.
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import { createWarmUpApiHandler } from '../../../lambdas/handlers/warmup-api.js';
import { harnessConfig, lambdaContext } from '../../support/lambda-environment.js';
import { applyInferenceModel, uniqueName } from '../../../services/kubectl.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';

const Gi = 2 ** 30;
const fixture = new IntegrationFixture('warmup');
const { namespace } = fixture;
const pool = uniqueName('pool-w');
const racePool = uniqueName('pool-race');
const context = lambdaContext('warmup-api');
let ledger: DynamoDbLedger;
let handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

async function call(method: string, path: string, query: Record<string, string> | null = null) {
  const event = {
    httpMethod: method,
    path,
    queryStringParameters: query,
    body: null,
    isBase64Encoded: false,
    headers: {},
  };
  const response = await handler(event as unknown as APIGatewayProxyEvent, context);
  return {
    status: response.statusCode,
    headers: response.headers ?? {},
    body: response.body ? JSON.parse(response.body) : undefined,
  };
}

const applyModel = (name: string, memory: string, pool: string) =>
  applyInferenceModel({ namespace, name }, { memory, pool, cooldownPeriod: '10m' });

const allocated = async (name: string) => (await ledger.readPool(name)).allocatedBytes;

beforeAll(async () => {
  const fresh = await fixture.setUp();
  for (const p of [pool, racePool]) await fixture.gpuNode(p, { gpus: 8 });
  ledger = fresh.ledger;
  await ledger.definePool({ name: pool, totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng-w' });
  await ledger.definePool({
    name: racePool,
    totalBytes: 64 * Gi,
    bytesPerNode: 80 * Gi,
    nodeGroup: 'ng-race',
  });
  // The warm-up Lambda's own group (deploy/rbac/), as its EKS access entry maps it.
  const config = harnessConfig(fresh.table, namespace, {
    KUBECONFIG: (await identityOf('warmUp')).kubeconfig,
  });
  handler = createWarmUpApiHandler(() => config) as unknown as typeof handler;
  await applyModel('llama-2-7b', '48Gi', pool);
  await applyModel('codellama-34b', '32Gi', pool);
  await applyModel('llama-2-70b', '48Gi', pool);
  for (let i = 0; i < 6; i++) await applyModel(`racer-${i}`, '16Gi', racePool);
});

afterAll(() => fixture.tearDown());

describe('warm-up API', () => {
  it('a cold model that fits: 202 with a Location, then Ready', async () => {
    const first = await call('POST', `/v1/models/${namespace}/llama-2-7b/warmup`);
    expect(first.status).toBe(202);
    expect(first.headers.Location).toBe(`/v1/models/${namespace}/llama-2-7b`);
    // KWOK pods start in well under a second, so the 202's body may already say ready.
    expect(first.body).toMatchObject({ name: 'llama-2-7b', memory: '48Gi', pool, replicas: 1 });
    expect(await allocated(pool)).toBe(48 * Gi);

    const waited = await call('POST', `/v1/models/${namespace}/llama-2-7b/warmup`, { wait: '20' });
    expect(waited.status).toBe(200);
    expect(waited.body).toMatchObject({ ready: true, replicas: 1, idle_for: '0s' });
    const polled = await call('GET', String(first.headers.Location));
    expect(polled.body).toMatchObject({ ready: true });
  });

  it('repeated warm-ups are idempotent: one allocation, 200 once ready', async () => {
    for (let i = 0; i < 3; i++)
      expect((await call('POST', `/v1/models/${namespace}/llama-2-7b/warmup`)).status).toBe(200);
    expect(await allocated(pool)).toBe(48 * Gi);
  });

  it('a full pool answers 429 with the blocking models, idlest first, and Retry-After', async () => {
    expect((await call('POST', `/v1/models/${namespace}/codellama-34b/warmup`)).status).toBe(202);
    const refused = await call('POST', `/v1/models/${namespace}/llama-2-70b/warmup`);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: {
        type: 'insufficient_memory',
        code: 'insufficient_memory',
        message: 'Cannot schedule llama-2-70b: insufficient memory',
        details: {
          requested: { model: 'llama-2-70b', memory: '48Gi' },
          available: '0',
          blocking: [
            { model: 'llama-2-7b', namespace, memory: '48Gi', idle_for: expect.stringMatching(/^\d+s$/) },
          ],
          // The Lambda keeps the admission queues: the same warm-up with ?queue=true would wait in line.
          queueable: true,
        },
      },
    });
    // The blocker's 10-minute cooldown, plus the pass that acts on it (RECONCILE_INTERVAL_SECONDS, 60 s).
    const retryAfter = Number(refused.headers['Retry-After']);
    expect(retryAfter).toBeGreaterThan(540 + 60);
    expect(retryAfter).toBeLessThanOrEqual(600 + 60 + 60);
    expect(await allocated(pool)).toBe(80 * Gi);
  });

  it('404 for a model that does not exist; 400 for a bad name; nothing allocated', async () => {
    const missing = await call('POST', `/v1/models/${namespace}/no-such-model/warmup`);
    expect(missing).toMatchObject({
      status: 404,
      body: { error: { type: 'invalid_request_error', code: 'model_not_found' } },
    });
    const bad = await call('POST', `/v1/models/${namespace}/Bad_Name/warmup`);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(await allocated(pool)).toBe(80 * Gi);
  });

  it('activity reports keep a model from looking idle', async () => {
    const before = (await ledger.readPool(pool)).allocations.find((a) => a.holder.endsWith('/codellama-34b'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await call('POST', `/v1/models/${namespace}/codellama-34b/activity`)).status).toBe(204);
    const after = (await ledger.readPool(pool)).allocations.find((a) => a.holder.endsWith('/codellama-34b'));
    expect(after!.lastActivity!).toBeGreaterThan(before!.lastActivity!);
  });

  it('lists models and pools', async () => {
    const models = await call('GET', '/v1/models');
    expect(models.body.models.map((m: { name: string }) => m.name)).toEqual(
      expect.arrayContaining(['llama-2-7b', 'llama-2-70b']),
    );
    const pools = await call('GET', '/v1/pools');
    expect(pools.body.pools.find((p: { name: string }) => p.name === pool)).toMatchObject({
      total: '80Gi',
      allocated: '80Gi',
      available: '0',
      allocations: [expect.objectContaining({ memory: '32Gi' }), expect.objectContaining({ memory: '48Gi' })],
    });
  });

  it('concurrent warm-ups of different models on one pool never over-allocate', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call('POST', `/v1/models/${namespace}/racer-${i}/warmup`)),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(4);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(2);
    await expect(ledger.readPool(racePool)).resolves.toMatchObject({
      allocatedBytes: 64 * Gi,
      availableBytes: 0,
    });
  });

  it('?queue=true waits in line (202, Queued), GET /v1/pools shows the line, and a plain warm-up does not jump it', async () => {
    const refused = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => call('POST', `/v1/models/${namespace}/racer-${i}/warmup`)),
    );
    const waiting = refused.flatMap((a, i) => (a.status === 429 ? [`racer-${i}`] : []));
    expect(waiting).toHaveLength(2);
    const [first, second] = waiting as [string, string];
    const queued = await call('POST', `/v1/models/${namespace}/${first}/warmup`, { queue: 'true' });
    expect(queued).toMatchObject({
      status: 202,
      body: { name: first, reason: 'Queued', queue: { pool: racePool, position: 1, length: 1 } },
    });
    const pools = await call('GET', '/v1/pools');
    expect(pools.body.pools.find((p: { name: string }) => p.name === racePool).queue).toEqual([
      expect.objectContaining({ position: 1, holder: `${namespace}/${first}`, memory: '16Gi', priority: 0 }),
    ]);
    const behind = await call('POST', `/v1/models/${namespace}/${second}/warmup`);
    expect(behind.status).toBe(429);
    expect(behind.body.error.details).toMatchObject({ queueable: true, queued: 1 });
    expect(await call('POST', `/v1/models/${namespace}/${second}/warmup`, { queue: 'maybe' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', message: 'queue must be true or false' } },
    });
  });
});
