// 10,000 generated requests straight into the warm-up API handler, with the real kube-apiserver and
// the ledger on dynalite behind it: never a 5xx, always the error envelope (or a success shape), and
// the ledger never changes (no model exists in the namespace the requests name).
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import fc from 'fast-check';
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import { createWarmUpApiHandler } from '../../../lambdas/handlers/warmup-api.js';
import { harnessConfig, lambdaContext } from '../../support/lambda-environment.js';
import { IntegrationFixture } from '../../support/integration-fixture.js';
import { Gi } from '../../support/builders.js';

const REQUESTS = 10_000;
const fixture = new IntegrationFixture('fuzz');
const { namespace } = fixture;
const context = lambdaContext('warmup-api');
let ledger: DynamoDbLedger;
let handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

const segment = fc.oneof(
  fc.constantFrom(
    namespace,
    'llama-2-7b',
    'ML',
    '..',
    '.',
    '%2F',
    '%00',
    '%E0%A4%A',
    'a'.repeat(300),
    '☃',
    'x\u202ey',
  ),
  fc.string({ maxLength: 20 }),
  fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
);
const path = fc.oneof(
  fc
    .tuple(segment, segment, fc.constantFrom('warmup', 'activity', 'other'))
    .map(([ns, n, verb]) => `/v1/models/${ns}/${n}/${verb}`),
  fc.tuple(segment, segment).map(([ns, n]) => `/v1/models/${ns}/${n}`),
  fc.constantFrom(
    '/v1/models',
    '/v1/pools',
    '/v1/usage',
    '/',
    '/v1',
    '/v1/models/',
    '/v1/pools/x',
    '/v1/usage/x',
  ),
  fc.string({ maxLength: 40 }).map((s) => `/${s}`),
);
const query = fc.option(
  fc.dictionary(
    fc.constantFrom('wait', 'since', 'verbose', '', 'w\u0000'),
    fc.oneof(
      fc.constantFrom(
        '0',
        '5',
        '25',
        '26',
        '-1',
        '1e3',
        '',
        '24h',
        '2026-12-01T00:00:00Z',
        '9999h',
        '2999-01-01T00:00:00Z',
      ),
      fc.string({ maxLength: 5 }),
    ),
  ),
  { nil: null },
);
const body = fc.option(
  fc.oneof(
    fc.constantFrom(
      '',
      '{}',
      '[]',
      'null',
      '{"',
      '{"memory":"80Gi"}',
      '"x"',
      '1',
      'x'.repeat(1024 * 1024 + 1),
    ),
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 50 }),
  ),
  { nil: null },
);
const request = fc.record({
  httpMethod: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'get'),
  path,
  queryStringParameters: query,
  body,
  isBase64Encoded: fc.boolean(),
});

beforeAll(async () => {
  const fresh = await fixture.setUp();
  ledger = fresh.ledger;
  await ledger.definePool({ name: 'default', totalBytes: 80 * Gi, bytesPerNode: 80 * Gi, nodeGroup: 'ng' });
  await ledger.allocate({ pool: 'default', holder: 'other/running', bytes: 16 * Gi, now: Date.now() });
  // The warm-up Lambda's own group (deploy/rbac/), as its EKS access entry maps it.
  const config = harnessConfig(fresh.table, namespace, {
    KUBECONFIG: (await identityOf('warmUp')).kubeconfig,
  });
  handler = createWarmUpApiHandler(() => config) as unknown as typeof handler;
});

afterAll(() => fixture.tearDown());

it(`answers ${REQUESTS} generated requests without a 5xx or a ledger change`, async () => {
  const before = await ledger.listPools();
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async (event) => {
      const response = await handler({ ...event, headers: {} } as unknown as APIGatewayProxyEvent, context);
      seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
      expect(response.statusCode).toBeLessThan(500);
      const parsed = JSON.parse(response.body) as {
        error?: { type: unknown; code: unknown; message: unknown };
      };
      if (response.statusCode >= 400) {
        expect(parsed.error).toEqual({
          type: expect.any(String),
          code: expect.any(String),
          message: expect.any(String),
          ...('details' in (parsed.error ?? {}) ? { details: expect.anything() } : {}),
        });
      }
    }),
    { numRuns: REQUESTS },
  );
  expect(await ledger.listPools()).toEqual(before);
  // The generator reaches the handler's paths beyond the router: 404s for well-formed models, 200s for lists.
  expect(seen.get(404)).toBeGreaterThan(0);
  expect(seen.get(200)).toBeGreaterThan(0);
  expect(seen.get(400)).toBeGreaterThan(0);
});
