// Generated requests straight into the webhook handler, with a real ledger (dynalite) and EventBridge
// (moto): whatever arrives, the answer is never a 5xx, always the error envelope or a well-formed
// AdmissionReview, and the ledger is never changed.
import { randomBytes } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, DeleteEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../../../lambdas/core/admission/review.js';
import { createWebhookHandler } from '../../../lambdas/handlers/admission-webhook.js';
import { logger } from '../../../lambdas/handlers/logger.js';
import { MAX_WARNING_LENGTH } from '../../../lambdas/core/validation/field-errors.js';
import { harnessEnv } from '../../../services/service.js';
import { uniqueName } from '../../../services/kubectl.js';
import { dynamoClient, freshLedger } from '../../support/ledger-backends.js';
import { identityOf } from '../../support/kubernetes-identity.js';
import { admissionReviewOf } from '../../support/builders.js';
import { defineWebhookPools } from '../../support/webhook-pools.js';

const REQUESTS = 10_000;
const BATCH = 25;
const secret = randomBytes(32).toString('hex');
const busName = uniqueName('ibcp-fuzz-bus');
const dynamo = dynamoClient('IBCP_DYNALITE_ENDPOINT');
const context = { functionName: 'admission-webhook', awsRequestId: 'fuzz' } as Context;
const ENVELOPE_STATUS: Record<string, number> = {
  invalid_request: 400,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
};

let table: string;
let events: EventBridgeClient;
let handler: ReturnType<typeof createWebhookHandler>;

async function tableItems(): Promise<string> {
  const { Items = [] } = await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return JSON.stringify(Items.map((item) => JSON.stringify(item)).sort());
}

beforeAll(async () => {
  const fresh = await freshLedger(dynamo);
  table = fresh.table;
  await defineWebhookPools(fresh.ledger, 'models/llama');
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = harnessEnv('IBCP_MOTO_ENDPOINT');
  events = new EventBridgeClient({});
  await events.send(new CreateEventBusCommand({ Name: busName }));
  handler = createWebhookHandler({
    ledgerTable: table,
    dynamoDbEndpoint: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
    eventBusName: busName,
    secret: { value: secret },
    // The webhook Lambda's own group (deploy/rbac/), as its EKS access entry maps it.
    kubernetes: { kubeconfig: (await identityOf('webhook')).kubeconfig },
  });
});

afterAll(async () => {
  await events?.send(new DeleteEventBusCommand({ Name: busName })).catch(() => undefined);
  events?.destroy();
  dynamo.destroy();
});

// ---- what arrives ----------------------------------------------------------------------------------

/** Mostly plausible values, sometimes anything at all: both the checks and the parser get exercised. */
const mostly = <T>(plausible: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: plausible, weight: 4 }, { arbitrary: fc.anything(), weight: 1 });

const names = fc.oneof(
  { arbitrary: fc.constantFrom('llama', 'mistral-7b', 'phi.3', 'x'), weight: 6 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 1 },
  {
    arbitrary: fc.constantFrom('Llama', '../x', 'a'.repeat(254), 'llama\u202e', 'llama\ud800', ''),
    weight: 1,
  },
);

const spec = fc.record(
  {
    modelName: mostly(names),
    memory: mostly(
      fc.oneof(
        fc.constantFrom('16Gi', '48Gi', '160Gi', '200Gi', '0Gi', '80GB', '1.5Gi', '99999999999999999Ti'),
        fc.tuple(fc.nat(), fc.constantFrom('Ki', 'Mi', 'Gi', 'Ti', 'G', '')).map(([n, u]) => `${n}${u}`),
      ),
    ),
    backendUrl: mostly(fc.oneof(fc.constant('http://vllm:8000'), fc.webUrl(), fc.string({ unit: 'binary' }))),
    nodeSelector: mostly(
      fc.oneof(
        fc.constantFrom(
          { 'inference-pool': 'gpu-a100' },
          { 'inference-pool': 'default' },
          { 'inference-pool': 'gpu-h100' },
        ),
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())),
      ),
    ),
    cooldownPeriod: mostly(fc.oneof(fc.constantFrom('10m', '1h30m', '', '1.5h', '9000h'), fc.string())),
    maxReplicas: mostly(fc.oneof(fc.constantFrom(0, 1), fc.integer(), fc.double())),
    dependencies: mostly(fc.array(names, { maxLength: 4 })),
    containerImage: mostly(fc.string()),
    resources: mostly(
      fc.record(
        {
          requests: fc.record(
            { cpu: mostly(fc.string()), memory: mostly(fc.string()), gpu: mostly(fc.nat()) },
            { requiredKeys: [] },
          ),
          limits: fc.dictionary(fc.string(), fc.anything()),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const model = fc.record(
  {
    apiVersion: fc.constant('inference.eh-ops.io/v1alpha1'),
    kind: fc.constant('InferenceModel'),
    metadata: mostly(
      fc.record(
        {
          name: mostly(names),
          namespace: mostly(fc.constantFrom('models', 'team-a', 'Team A', '')),
          deletionTimestamp: fc.constant('2026-01-01T00:00:00Z'),
        },
        { requiredKeys: ['name'] },
      ),
    ),
    spec: fc.oneof({ arbitrary: spec, weight: 8 }, { arbitrary: fc.anything(), weight: 1 }),
  },
  { requiredKeys: ['spec'] },
);

const ours = { group: 'inference.eh-ops.io', version: 'v1alpha1', resource: 'inferencemodels' };
const request = fc
  .record(
    {
      uid: fc.oneof({ arbitrary: fc.uuid(), weight: 9 }, { arbitrary: fc.anything(), weight: 1 }),
      kind: fc.constant({ group: 'inference.eh-ops.io', version: 'v1alpha1', kind: 'InferenceModel' }),
      resource: fc.oneof(
        { arbitrary: fc.constant(ours), weight: 8 },
        { arbitrary: fc.constant({ group: 'apps', version: 'v1', resource: 'deployments' }), weight: 1 },
        { arbitrary: fc.anything(), weight: 1 },
      ),
      subResource: fc.constantFrom('status', ''),
      operation: fc.oneof(
        { arbitrary: fc.constantFrom('CREATE', 'UPDATE'), weight: 8 },
        { arbitrary: fc.constantFrom('DELETE', 'CONNECT'), weight: 1 },
        { arbitrary: fc.anything(), weight: 1 },
      ),
      namespace: mostly(fc.constantFrom('models', 'team-a')),
      name: mostly(names),
      object: fc.oneof({ arbitrary: model, weight: 9 }, { arbitrary: fc.anything(), weight: 1 }),
      oldObject: fc.oneof(model, fc.constant(null)),
      // Dry runs dominate: no event to send, the rest of the path is the same.
      dryRun: fc.oneof(
        { arbitrary: fc.constant(true), weight: 6 },
        { arbitrary: fc.constant(false), weight: 3 },
        { arbitrary: fc.anything(), weight: 1 },
      ),
    },
    { requiredKeys: ['uid', 'resource', 'operation', 'object', 'dryRun'] },
  )
  // An UPDATE that only touches metadata, now and then.
  .chain((r) =>
    r.operation === 'UPDATE' ? fc.constantFrom(r, { ...r, oldObject: r.object }) : fc.constant(r),
  );

const review = request.map((r) => JSON.stringify(admissionReviewOf(r)));
const HUGE = JSON.stringify(admissionReviewOf({ uid: 'u', pad: 'x'.repeat(MAX_BODY_BYTES) }));

const body = fc.oneof(
  { arbitrary: review, weight: 12 },
  {
    arbitrary: fc.tuple(review, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
    weight: 1,
  },
  { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary' }), weight: 1 },
  {
    arbitrary: fc.constantFrom(null, '', HUGE, JSON.stringify(admissionReviewOf({}))),
    weight: 1,
  },
);

const event = fc
  .record({
    httpMethod: fc.oneof(
      { arbitrary: fc.constant('POST'), weight: 20 },
      { arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', ''), weight: 1 },
    ),
    path: fc.oneof(
      { arbitrary: fc.constantFrom(`/webhook/${secret}`, `/webhook/${secret}/mutate`), weight: 20 },
      { arbitrary: fc.string().map((s) => `/webhook/${s}`), weight: 1 },
      { arbitrary: fc.webPath(), weight: 1 },
    ),
    headers: fc.oneof(
      { arbitrary: fc.constant({ 'Content-Type': 'application/json' }), weight: 10 },
      {
        arbitrary: fc.constantFrom(
          {},
          { 'content-type': 'application/json; charset=utf-8' },
          { 'Content-Type': 'text/plain' },
        ),
        weight: 1,
      },
      { arbitrary: fc.dictionary(fc.string(), fc.string()), weight: 1 },
    ),
    body,
    base64: fc.oneof(
      { arbitrary: fc.constant(false), weight: 9 },
      { arbitrary: fc.constant(true), weight: 1 },
    ),
  })
  .map(({ base64, body: text, ...rest }): APIGatewayProxyEvent => ({
    ...rest,
    body: base64 && text !== null ? Buffer.from(text).toString('base64') : text,
    isBase64Encoded: base64,
    resource: rest.path,
    pathParameters: null,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  }));

// ---- what must come back ---------------------------------------------------------------------------

function uidOf(e: APIGatewayProxyEvent): unknown {
  try {
    const text = e.isBase64Encoded ? Buffer.from(e.body ?? '', 'base64').toString() : (e.body ?? '');
    return (JSON.parse(text) as { request?: { uid?: unknown } }).request?.uid;
  } catch {
    return undefined;
  }
}

function checkAnswer(e: APIGatewayProxyEvent, result: APIGatewayProxyResult): void {
  expect(result.statusCode).toBeLessThan(500);
  const answer = JSON.parse(result.body) as Record<string, unknown>;
  if (result.statusCode !== 200) {
    const error = answer.error as { type: string; code: string; message: string };
    expect(Object.keys(answer)).toEqual(['error']);
    expect(ENVELOPE_STATUS[error.code]).toBe(result.statusCode);
    expect(error.type).toBe('invalid_request_error');
    expect(typeof error.message).toBe('string');
    return;
  }
  expect(answer).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
  const response = answer.response as Record<string, unknown>;
  expect(response.uid).toBe(uidOf(e));
  expect(typeof response.allowed).toBe('boolean');
  if (!response.allowed) {
    const status = response.status as { code: number; reason: string; message: string };
    expect([400, 403, 422]).toContain(status.code); // never 503: the ledger is up
    expect(status.message.length).toBeGreaterThan(0);
    // eslint-disable-next-line no-control-regex
    expect(status.message).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(response.patch).toBeUndefined();
  }
  for (const w of (response.warnings as string[] | undefined) ?? []) {
    expect(w.length).toBeLessThanOrEqual(MAX_WARNING_LENGTH);
  }
  if (response.patch !== undefined) {
    expect(e.path.endsWith('/mutate')).toBe(true);
    expect(response.patchType).toBe('JSONPatch');
    const ops = JSON.parse(Buffer.from(response.patch as string, 'base64').toString()) as {
      op: string;
      path: string;
    }[];
    expect(ops.length).toBeGreaterThan(0);
    // Defaults under spec, and the finalizer in metadata (on creation): nothing else.
    for (const op of ops)
      expect(op).toMatchObject({
        op: 'add',
        path: expect.stringMatching(/^\/spec\/[a-zA-Z]+$|^\/metadata\/finalizers(\/-)?$/),
      });
  }
}

it(`answers ${REQUESTS} generated requests without a 5xx, always in shape, and never changes the ledger`, async () => {
  const before = await tableItems();
  const errorLines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    errorLines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  logger.setLogLevel('ERROR');
  const started = Date.now();
  let sent = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const results = await Promise.all(
          batch.map((e) => handler(e, context) as Promise<APIGatewayProxyResult>),
        );
        sent += batch.length;
        batch.forEach((e, i) => checkAnswer(e, results[i]!));
      }),
      { numRuns: REQUESTS / BATCH, endOnFailure: true },
    );
  } finally {
    process.stderr.write = write;
    logger.setLogLevel('INFO');
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`admission webhook fuzz: ${sent} requests in ${seconds.toFixed(1)}s\n`);
  expect(sent).toBeGreaterThanOrEqual(REQUESTS);
  expect(errorLines).toEqual([]); // nothing failed unexpectedly inside the handler
  expect(await tableItems()).toBe(before);
}, 180_000);
