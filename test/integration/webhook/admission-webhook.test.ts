// The admission webhook as the API server calls it: the handler behind a local HTTPS stand-in for API
// Gateway, registered in the harness's kube-apiserver with a Validating and a Mutating
// WebhookConfiguration; the ledger on dynalite, reconcile events on moto's EventBridge (rule -> SQS).
// The configurations only select this file's namespace, so parallel test files never meet them.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadYaml } from '@kubernetes/client-node';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { DynamoDbLedger } from '../../../lambdas/adapters/dynamodb-ledger.js';
import type { PoolSnapshot } from '../../../lambdas/core/ledger/ledger.js';
import { inspectInferenceModel } from '../../../lambdas/core/validation/inference-model.js';
import { DEADLINES_MS } from '../../../lambdas/core/admission/decide.js';
import { MAX_BODY_BYTES } from '../../../lambdas/core/admission/review.js';
import { createWebhookHandler } from '../../../lambdas/handlers/admission-webhook.js';
import type { WebhookConfig } from '../../../lambdas/config.js';
import { harnessEnv } from '../../../services/service.js';
import { localTls, serveApiGateway, type RecordedApi } from '../../support/api-gateway-server.js';
import { kubectl, kubectlOk, repoRoot, uniqueName } from '../../../services/kubectl.js';
import { auditedRequests, identityOf, type KubernetesIdentity } from '../../support/kubernetes-identity.js';
import {
  admissionReview,
  admissionReviewOf,
  CRD_SPEC_DEFAULTS,
  Gi,
  inferenceModelManifest,
  type AdmissionReviewBuilder,
} from '../../support/builders.js';
import { IntegrationFixture, modelPatch } from '../../support/integration-fixture.js';
import { defineWebhookPools } from '../../support/webhook-pools.js';

const fixture = new IntegrationFixture('webhook');
const { namespace } = fixture;
/** No webhook here: what the CRD alone accepts. */
const crdOnlyNamespace = uniqueName('webhook-crd');
const selectorLabel = 'ibcp-test/admission-webhook';
const configName = uniqueName('ibcp-admission');
const VALIDATING_WEBHOOK = 'validate.inferencemodels.inference.eh-ops.io';
const secret = randomBytes(32).toString('hex');
const busName = uniqueName('ibcp-webhook-bus');
const ruleName = uniqueName('ibcp-webhook-rule');
const queueName = uniqueName('ibcp-webhook-queue');

let events: EventBridgeClient;
let ledger: DynamoDbLedger;
let config: WebhookConfig;
let api: RecordedApi;
let poolsBefore: PoolSnapshot[];
let queueUrl: string;

const context = { functionName: 'admission-webhook', awsRequestId: 'test' } as Context;

// ---- moto's SQS over its JSON protocol (the stack's clients do not include SQS) --------------------

async function sqs<T>(action: string, body: object): Promise<T> {
  const response = await fetch(harnessEnv('IBCP_MOTO_ENDPOINT'), {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `AmazonSQS.${action}`,
      // moto routes by the signing scope and does not check the signature.
      Authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`SQS ${action} failed (${response.status}): ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/** Reconcile events that reached the queue within `waitSeconds`, each an EventBridge event. */
async function receivedEvents(waitSeconds = 1): Promise<Record<string, unknown>[]> {
  const { Messages = [] } = await sqs<{ Messages?: { Body: string; ReceiptHandle: string }[] }>(
    'ReceiveMessage',
    { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds },
  );
  for (const m of Messages)
    await sqs('DeleteMessage', { QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle });
  return Messages.map((m) => JSON.parse(m.Body) as Record<string, unknown>);
}

// ---- manifests -------------------------------------------------------------------------------------

const manifest = (name: string, spec: Record<string, unknown>, ns = namespace) =>
  inferenceModelManifest(name, spec, ns);

interface WebhookConfiguration {
  kind: string;
  metadata: { name: string };
  webhooks: { name: string; namespaceSelector?: object }[];
}

/** deploy/webhook/'s templates, rendered as envsubst would, and scoped to this file's namespace. */
async function webhookConfigurations(url: string, caBundle: string): Promise<WebhookConfiguration[]> {
  return Promise.all(
    ['mutating', 'validating'].map(async (kind) => {
      const template = await readFile(
        join(repoRoot, 'deploy', 'webhook', `${kind}-webhook-configuration.yaml`),
        'utf8',
      );
      const object = loadYaml<WebhookConfiguration>(
        template.replaceAll('${WEBHOOK_URL}', url).replaceAll('${CA_BUNDLE}', caBundle),
      );
      object.metadata.name = configName;
      for (const webhook of object.webhooks) {
        webhook.namespaceSelector = { matchLabels: { [selectorLabel]: namespace } };
      }
      return object;
    }),
  );
}

async function apply(object: object, ...flags: string[]) {
  return kubectl(['apply', ...flags, '-f', '-'], JSON.stringify(object));
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The webhook Lambda's own identity; its audited requests are checked against deploy/rbac/ last. */
let webhookIdentity: KubernetesIdentity;

beforeAll(async () => {
  const fresh = await fixture.setUp();
  ledger = fresh.ledger;
  await defineWebhookPools(ledger, 'other/codellama-34b');
  poolsBefore = await ledger.listPools();

  const moto = harnessEnv('IBCP_MOTO_ENDPOINT');
  // The SDK's own per-service endpoint variables: how local mode points the handler at moto.
  Object.assign(process.env, { AWS_ENDPOINT_URL_EVENTBRIDGE: moto, AWS_ENDPOINT_URL_SECRETS_MANAGER: moto });
  events = new EventBridgeClient({});
  queueUrl = (await sqs<{ QueueUrl: string }>('CreateQueue', { QueueName: queueName })).QueueUrl;
  await events.send(new CreateEventBusCommand({ Name: busName }));
  await events.send(
    new PutRuleCommand({
      Name: ruleName,
      EventBusName: busName,
      EventPattern: JSON.stringify({
        source: ['inference-budget-control-plane'],
        'detail-type': ['InferenceModel changed'],
      }),
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: ruleName,
      EventBusName: busName,
      Targets: [{ Id: 'queue', Arn: `arn:aws:sqs:us-east-1:123456789012:${queueName}` }],
    }),
  );

  webhookIdentity = await identityOf('webhook');
  config = {
    ledgerTable: fresh.table,
    dynamoDbEndpoint: harnessEnv('IBCP_DYNALITE_ENDPOINT'),
    eventBusName: busName,
    secret: { value: secret },
    // The webhook Lambda's own group (deploy/rbac/), as its EKS access entry maps it.
    kubernetes: { kubeconfig: webhookIdentity.kubeconfig },
  };
  const tls = await localTls();
  api = await serveApiGateway(createWebhookHandler(config), { https: { key: tls.key, cert: tls.cert } });

  await kubectlOk(['label', 'namespace', namespace, `${selectorLabel}=${namespace}`]);
  await kubectlOk(['create', 'namespace', crdOnlyNamespace]);
  const caBundle = Buffer.from(tls.ca).toString('base64');
  for (const object of await webhookConfigurations(`${api.url}/webhook/${secret}`, caBundle)) {
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(object));
  }
  // The API server picks new webhook configurations up asynchronously: wait until ours answer.
  const probe = manifest('probe', { nodeSelector: { 'inference-pool': 'not-a-pool' } });
  await eventually('webhooks registered', async () => {
    const result = await apply(probe, '--dry-run=server');
    return (
      result.stderr.includes(VALIDATING_WEBHOOK) && api.calls.some((c) => c.event.path.endsWith('/mutate'))
    );
  });
}, 180_000);

afterAll(async () => {
  await kubectl([
    'delete',
    'mutatingwebhookconfiguration,validatingwebhookconfiguration',
    configName,
    '--ignore-not-found',
  ]);
  await kubectl(['delete', 'namespace', crdOnlyNamespace, '--wait=false']);
  await api?.close();
  await events
    ?.send(new RemoveTargetsCommand({ Rule: ruleName, EventBusName: busName, Ids: ['queue'] }))
    .catch(() => undefined);
  await events?.send(new DeleteRuleCommand({ Name: ruleName, EventBusName: busName })).catch(() => undefined);
  await events?.send(new DeleteEventBusCommand({ Name: busName })).catch(() => undefined);
  events?.destroy();
  await fixture.tearDown();
});

describe('kubectl apply through the API server and the webhooks', () => {
  beforeEach(async () => {
    await receivedEvents(0); // events of earlier tests do not count
  });

  it.each([
    [
      'a pool missing from the ledger',
      { nodeSelector: { 'inference-pool': 'gpu-h100' } },
      'Error from server (Forbidden): error when creating "STDIN"',
      'node pool "gpu-h100" (spec.nodeSelector.inference-pool) has no budget in the control plane\'s ledger: ' +
        'set spec.nodeSelector.inference-pool to a pool the control plane defines, or define "gpu-h100" first',
    ],
    [
      'memory larger than the pool total',
      { memory: '200Gi', nodeSelector: { 'inference-pool': 'gpu-a100' } },
      'Error from server (Forbidden): error when creating "STDIN"',
      "memory 200Gi is larger than pool gpu-a100's total budget of 160Gi: lower spec.memory or grow the pool",
    ],
    [
      'a dependency on itself',
      { dependencies: ['refused'] },
      'The request is invalid: error when creating "STDIN"',
      'spec.dependencies[0]: Invalid value: "refused": a model cannot depend on itself',
    ],
  ])('refuses %s with the webhook message, and nothing is created', async (_case, spec, prefix, message) => {
    const result = await apply(manifest('refused', spec));
    expect(result.code).not.toBe(0);
    // kubectl words a 403 as "Error from server (Forbidden)" and a 422 as "The request is invalid".
    expect(result.stderr).toContain(prefix);
    expect(result.stderr).toContain(
      `admission webhook "${VALIDATING_WEBHOOK}" denied the request: ${message}`,
    );
    expect((await kubectl(['get', 'inferencemodel', 'refused', '-n', namespace])).code).not.toBe(0);
    expect(await receivedEvents()).toEqual([]);
  });

  it('creates a valid model with its defaults, and announces it on EventBridge', async () => {
    const minimal = manifest('mistral-7b', {});
    const result = await apply(minimal);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const stored = JSON.parse(
      await kubectlOk(['get', 'inferencemodel', 'mistral-7b', '-n', namespace, '-o', 'json']),
    );
    expect(stored.spec).toEqual({
      ...minimal.spec,
      ...CRD_SPEC_DEFAULTS,
    });
    const [event] = await receivedEvents(5);
    expect(event).toMatchObject({
      source: 'inference-budget-control-plane',
      'detail-type': 'InferenceModel changed',
      detail: { namespace, name: 'mistral-7b' },
    });
    // Both webhooks were called; the CRD had filled the defaults in already, so the mutation only added
    // the finalizer, which the stored model carries from its creation on.
    const mine = api.calls.filter((c) => c.event.body?.includes('"mistral-7b"'));
    const mutate = mine.find((c) => c.event.path.endsWith('/mutate'));
    const { patch, ...response } = JSON.parse(mutate!.result!.body).response;
    expect(response).toEqual({ uid: expect.any(String), allowed: true, patchType: 'JSONPatch' });
    expect(JSON.parse(Buffer.from(patch, 'base64').toString())).toEqual([
      { op: 'add', path: '/metadata/finalizers', value: ['inference.eh-ops.io/finalizer'] },
    ]);
    expect(
      JSON.parse(await kubectlOk(['get', 'inferencemodel', 'mistral-7b', '-n', namespace, '-o', 'json'])),
    ).toMatchObject({ metadata: { finalizers: ['inference.eh-ops.io/finalizer'] } });
    expect(mine.some((c) => !c.event.path.endsWith('/mutate'))).toBe(true);
  });

  it('admits with a warning on kubectl stderr when less is free than the model needs', async () => {
    const result = await apply(
      manifest('llama-2-13b', { memory: '48Gi', nodeSelector: { 'inference-pool': 'gpu-a100' } }),
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'Warning: only 32Gi of pool gpu-a100 is free now (needs 48Gi); the model will wait (InsufficientMemory) until others scale to zero',
    );
    expect(result.stdout).toContain('inferencemodel.inference.eh-ops.io/llama-2-13b created');
    expect((await receivedEvents(5)).map((e) => e.detail)).toEqual([{ namespace, name: 'llama-2-13b' }]);
  });

  it('checks a server-side dry run but announces nothing', async () => {
    const result = await apply(manifest('dry-run', {}), '--dry-run=server');
    expect(result.code).toBe(0);
    expect(await receivedEvents(2)).toEqual([]);
    const refused = await apply(manifest('dry-run', { memory: '41Gi' }), '--dry-run=server');
    expect(refused.stderr).toContain("memory 41Gi is larger than pool default's total budget of 40Gi");
  });

  it('re-checks a spec change, lets metadata-only updates through without an event, and never blocks delete', async () => {
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest('phi-3', {})));
    await receivedEvents(2);
    // The matchConditions keep metadata-only updates (labels, finalizers) from calling the webhook at all.
    const callsBefore = api.calls.length;
    await kubectlOk(['label', 'inferencemodel', 'phi-3', '-n', namespace, 'team=research']);
    await kubectlOk(modelPatch(namespace, 'phi-3', { metadata: { finalizers: ['x.io/hold'] } }));
    expect(api.calls.length).toBe(callsBefore);
    expect(await receivedEvents(1)).toEqual([]);
    const grow = await kubectl(modelPatch(namespace, 'phi-3', { spec: { memory: '64Gi' } }));
    expect(grow.stderr).toContain("memory 64Gi is larger than pool default's total budget of 40Gi");
    await kubectlOk(modelPatch(namespace, 'phi-3', { spec: { memory: '24Gi' } }));
    expect((await receivedEvents(5)).map((e) => e.detail)).toEqual([{ namespace, name: 'phi-3' }]);
    // Deleting sets deletionTimestamp; removing the last finalizer then is an update the webhook never sees.
    await kubectlOk(['delete', 'inferencemodel', 'phi-3', '-n', namespace, '--wait=false']);
    await kubectlOk(modelPatch(namespace, 'phi-3', { metadata: { finalizers: null } }));
    await kubectlOk(['wait', '--for=delete', 'inferencemodel/phi-3', '-n', namespace, '--timeout=30s']);
  });
});

describe('pool moves and dependency cycles, against the ledger and the namespace', () => {
  async function patchSpec(name: string, spec: object) {
    return kubectl(modelPatch(namespace, name, { spec }));
  }

  it('refuses a pool move while the model holds budget in its old pool, and allows it at zero', async () => {
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify(manifest('mover', { nodeSelector: { 'inference-pool': 'gpu-a100' } })),
    );
    // Running or starting: the reconciler has allocated its memory in gpu-a100.
    const now = Date.now();
    await ledger.allocate({ pool: 'gpu-a100', holder: `${namespace}/mover`, bytes: 16 * Gi, now });
    try {
      const refused = await patchSpec('mover', { nodeSelector: { 'inference-pool': 'default' } });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('Error from server (Forbidden)');
      expect(refused.stderr).toContain(
        `admission webhook "${VALIDATING_WEBHOOK}" denied the request: ` +
          `spec.nodeSelector.inference-pool cannot change from gpu-a100 to default while ${namespace}/mover ` +
          'holds 16Gi of gpu-a100 (running or starting): scale it to zero first (maxReplicas: 0, or let it ' +
          'idle out), then change the pool',
      );
      // Other spec changes of a running model stay allowed.
      expect((await patchSpec('mover', { cooldownPeriod: '20m' })).code).toBe(0);
    } finally {
      const fence = { bytes: 16 * Gi, since: now };
      await ledger.release({ pool: 'gpu-a100', holder: `${namespace}/mover`, fence });
    }
    // Scaled to zero, it holds nothing: the move is allowed, and no budget is left behind.
    const moved = await patchSpec('mover', { nodeSelector: { 'inference-pool': 'default' } });
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    expect(await ledger.listPools()).toEqual(poolsBefore);
  });

  it('refuses a change that closes a dependency cycle, naming it, through names and modelNames', async () => {
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest('cycle-a', { dependencies: ['cycle-b'] })));
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest('cycle-b', { dependencies: ['cycle-c'] })));
    const refused = await apply(manifest('cycle-c', { dependencies: ['cycle-a'] }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('The request is invalid');
    expect(refused.stderr).toContain(
      `admission webhook "${VALIDATING_WEBHOOK}" denied the request: ` +
        'spec.dependencies forms a cycle: cycle-c -> cycle-a -> cycle-b -> cycle-c',
    );
    expect((await kubectl(['get', 'inferencemodel', 'cycle-c', '-n', namespace])).code).not.toBe(0);
    // Without the edge back, the chain is fine.
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest('cycle-c', { dependencies: [] })));

    // A dependency may name a modelName; an update closing the cycle that way is refused too.
    await kubectlOk(
      ['apply', '-f', '-'],
      JSON.stringify(manifest('by-model-name', { modelName: 'shared-llm', dependencies: [] })),
    );
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(manifest('user', { dependencies: ['shared-llm'] })));
    const closing = await patchSpec('by-model-name', { dependencies: ['user'] });
    expect(closing.code).not.toBe(0);
    expect(closing.stderr).toContain(
      'spec.dependencies forms a cycle: by-model-name -> user -> by-model-name',
    );
  });
});

describe('MoE workloads: Deployments declared with the moe-role label', () => {
  const MOE_WEBHOOK = 'validate.moe-workloads.inference.eh-ops.io';

  function workload(
    name: string,
    annotations: Record<string, string>,
    extra: { pool?: string; replicas?: number } = {},
  ) {
    const labels = { 'app.kubernetes.io/name': name };
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name,
        namespace,
        labels: { ...labels, 'inference.eh-ops.io/moe-role': 'inference' },
        annotations: {
          'inference.eh-ops.io/node-pool': 'gpu-a100',
          'inference.eh-ops.io/gpu-memory-per-replica': '16Gi',
          'inference.eh-ops.io/max-replicas': '2',
          ...annotations,
        },
      },
      spec: {
        replicas: extra.replicas ?? 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            nodeSelector: { 'inference-pool': extra.pool ?? 'gpu-a100' },
            containers: [{ name: 'inference', image: 'registry.example/moe-lab/inference:1.0' }],
          },
        },
      },
    };
  }

  it.each([
    [
      'a missing GPU memory annotation',
      workload('moe-no-memory', { 'inference.eh-ops.io/gpu-memory-per-replica': '' }),
      'The request is invalid',
      'annotation inference.eh-ops.io/gpu-memory-per-replica must be the GPU memory one replica holds, e.g. 80Gi (got "")',
    ],
    [
      'pods scheduled outside the declared pool',
      workload('moe-elsewhere', {}, { pool: 'default' }),
      'The request is invalid',
      'spec.template.spec.nodeSelector.inference-pool must be "gpu-a100" (annotation inference.eh-ops.io/node-pool), got "default"',
    ],
    [
      'more replicas than declared',
      workload('moe-too-many', {}, { replicas: 3 }),
      'The request is invalid',
      'spec.replicas 3 is more than annotation inference.eh-ops.io/max-replicas (2)',
    ],
    [
      'a pool missing from the ledger',
      workload('moe-no-pool', { 'inference.eh-ops.io/node-pool': 'gpu-h100' }, { pool: 'gpu-h100' }),
      'Error from server (Forbidden)',
      'node pool "gpu-h100" (annotation inference.eh-ops.io/node-pool) has no budget in the control plane\'s ledger',
    ],
    [
      'a replica larger than a node',
      workload('moe-too-big', { 'inference.eh-ops.io/gpu-memory-per-replica': '96Gi' }),
      'Error from server (Forbidden)',
      '96Gi per replica is more than one node of pool gpu-a100 has (80Gi); a replica never spans nodes',
    ],
  ])('refuses %s, and nothing is created', async (_case, object, prefix, message) => {
    const result = await apply(object);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(prefix);
    expect(result.stderr).toContain(`admission webhook "${MOE_WEBHOOK}" denied the request: ${message}`);
    const get = await kubectl(['get', 'deployment', object.metadata.name, '-n', namespace]);
    expect(get.code).not.toBe(0);
  });

  it('admits a valid declaration with a warning when its maximum exceeds what the pool has free, and checks updates', async () => {
    const object = workload('moe-ok', { 'inference.eh-ops.io/max-replicas': '12' });
    const created = await apply(object);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(
      "Warning: 16Gi x 12 replicas is more than pool gpu-a100's total budget of 160Gi: scale-ups past 10 replicas will be refused",
    );
    const patched = await kubectl([
      'patch',
      'deployment',
      'moe-ok',
      '-n',
      namespace,
      '--type',
      'merge',
      '-p',
      '{"spec":{"replicas":13}}',
    ]);
    expect(patched.stderr).toContain(
      'spec.replicas 13 is more than annotation inference.eh-ops.io/max-replicas (12)',
    );
    // The control plane's own bookkeeping annotations never wait on the ledger.
    await kubectlOk([
      'annotate',
      'deployment/moe-ok',
      '-n',
      namespace,
      'inference.eh-ops.io/scale-back-replicas=1',
    ]);
  });

  it('never sees a Deployment without the label', async () => {
    const calls = api.calls.length;
    const plain = workload('plain', { 'inference.eh-ops.io/gpu-memory-per-replica': 'lots' });
    delete (plain.metadata.labels as Record<string, string>)['inference.eh-ops.io/moe-role'];
    expect((await apply(plain)).code).toBe(0);
    expect(api.calls.length).toBe(calls);
  });
});

describe('the schema rules agree with the CRD on the real API server', () => {
  const base = { nodeSelector: { 'inference-pool': 'default' } };
  // [case, spec fields, stricter]: `stricter` marks the webhook's own rules, which the CRD cannot say.
  const cases: [string, Record<string, unknown>, boolean?][] = [
    ['valid', {}],
    ['modelName empty', { modelName: '' }],
    ['modelName a number', { modelName: 7 }],
    ['memory 80GB', { memory: '80GB' }],
    ['memory 1.5Gi', { memory: '1.5Gi' }],
    ['memory 80gi', { memory: '80gi' }],
    ['memory -1Gi', { memory: '-1Gi' }],
    ['memory a number', { memory: 80 }],
    ['memory 16777216Ki', { memory: '16777216Ki' }],
    ['memory 0Gi', { memory: '0Gi' }, true],
    ['memory past 2^53 bytes', { memory: '99999999999999999Ti' }, true],
    ['cooldown empty', { cooldownPeriod: '' }],
    ['cooldown 1.5h', { cooldownPeriod: '1.5h' }],
    ['cooldown 500ms', { cooldownPeriod: '500ms' }],
    ['cooldown 10m1h', { cooldownPeriod: '10m1h' }],
    ['cooldown 1h0m0s', { cooldownPeriod: '1h0m0s' }],
    ['cooldown 0s', { cooldownPeriod: '0s' }],
    ['cooldown past a year', { cooldownPeriod: '9000h' }, true],
    ['maxReplicas 5', { maxReplicas: 5 }],
    ['maxReplicas -1', { maxReplicas: -1 }],
    ['maxReplicas 0.5', { maxReplicas: 0.5 }],
    ['maxReplicas "1"', { maxReplicas: '1' }],
    ['maxReplicas 0', { maxReplicas: 0 }],
    ['dependencies a string', { dependencies: 'x' }],
    ['dependency empty', { dependencies: [''] }],
    ['dependency a number', { dependencies: [3] }],
    ['dependency not a name', { dependencies: ['Llama 2'] }, true],
    ['dependency on itself', { dependencies: ['agree'] }, true],
    ['nodeSelector a list', { nodeSelector: ['x'] }],
    ['nodeSelector value a number', { nodeSelector: { zone: 1 } }],
    ['pool label empty', { nodeSelector: { 'inference-pool': '' } }, true],
    ['pool label with a space', { nodeSelector: { 'inference-pool': 'gpu a100' } }, true],
    ['containerImage a list', { containerImage: ['x'] }],
    ['resources a string', { resources: '4' }],
    ['resources unknown part', { resources: { claims: [] } }],
    ['requests a list', { resources: { requests: [] } }],
    ['cpu four', { resources: { requests: { cpu: 'four' } } }],
    ['cpu 0.5', { resources: { requests: { cpu: 0.5 } } }],
    ['gpu -1', { resources: { limits: { gpu: -1 } } }],
    ['gpu "0.5"', { resources: { limits: { gpu: '0.5' } } }],
    ['gpu 1.5', { resources: { requests: { gpu: 1.5 } } }],
    ['gpu true', { resources: { requests: { gpu: true } } }],
    [
      'resources in every form',
      {
        resources: {
          requests: { cpu: '4000m', memory: '1e3', gpu: '1' },
          limits: { cpu: 8, memory: 25769803776, gpu: 1 },
        },
      },
    ],
    ['unknown field', { replicas: 2 }],
    ...[
      'http://vllm.models.svc:8000',
      'https://vllm.example.com/v1/completions?x=1',
      'HTTP://Vllm:8000/',
      'http://[::1]:8000/',
      'http://[fe80::1%25eth0]:8000/',
      'http://[::ffff:10.0.0.1]/',
      'http://user:pass@vllm:8000/',
      'http://vllm:/',
      'http://vllm:99999/',
      'http://ü.example/',
      'http://%C3%BC.example/',
      'http://vllm/a b',
      'http://vllm/#frag',
      'http://vllm?#x',
      'https://vllm?',
      'vllm:8000',
      'http:vllm',
      '//vllm:8000',
      '/v1',
      'ftp://vllm',
      'http:///v1',
      'http://:8000/',
      'http://@/',
      'http://vllm:port/',
      'http://a:b:8000/',
      'http://vllm#frag',
      'http://vllm?#%zz',
      'http://vllm/%zz',
      'http://%41/',
      'http://vl lm/',
      'http://vllm\\x/',
      'http://vllm/\u007f',
      'http://[1.2.3.4]/',
      'http://[::1]x/',
      'http://[fe80::1%25]/',
      'http://[1::2::3]/',
      'http://[::1.2.3.04]/',
      ' http://vllm',
      `http://vllm/${'a'.repeat(2036)}`,
      `http://vllm/${'a'.repeat(2037)}`,
    ].map((backendUrl): [string, Record<string, unknown>] => [
      `backendUrl ${backendUrl.slice(0, 40)}`,
      { backendUrl },
    ]),
  ];

  it(`for ${cases.length} specs, the webhook refuses what the CRD refuses (and a few more)`, async () => {
    const verdicts: { case: string; crd: boolean; webhook: boolean; stricter: boolean; stderr: string }[] =
      [];
    const queue = [...cases];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [name, spec, stricter = false] = next;
          const object = manifest('agree', { ...base, ...spec }, crdOnlyNamespace);
          const result = await apply(object, '--dry-run=server');
          const webhook = inspectInferenceModel(object).messages.length === 0;
          verdicts.push({
            case: name,
            crd: result.code === 0,
            webhook,
            stricter,
            stderr: result.stderr.trim(),
          });
        }
      }),
    );
    const disagreements = verdicts.filter((v) => (v.stricter ? !(v.crd && !v.webhook) : v.crd !== v.webhook));
    expect(disagreements).toEqual([]);
  });
});

describe('the handler, called directly with bad input', () => {
  let handler: ReturnType<typeof createWebhookHandler>;
  const path = `/webhook/${secret}`;

  beforeAll(() => {
    handler = createWebhookHandler(config);
  });

  function event(overrides: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent {
    return {
      httpMethod: 'POST',
      path,
      resource: path,
      pathParameters: null,
      headers: { 'Content-Type': 'application/json' },
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: {} as APIGatewayProxyEvent['requestContext'],
      ...overrides,
    };
  }

  /** A dry-run CREATE of `object` in this file's namespace, as the API server sends it. */
  const reviewOf = (object: unknown) => admissionReview(object, namespace);

  async function call(e: APIGatewayProxyEvent, h = handler): Promise<APIGatewayProxyResult> {
    return (await h(e, context)) as APIGatewayProxyResult;
  }

  async function envelope(e: APIGatewayProxyEvent, status: number, code: string): Promise<string> {
    const result = await call(e);
    expect(result.statusCode).toBe(status);
    const body = JSON.parse(result.body);
    expect(body).toEqual({ error: { type: 'invalid_request_error', code, message: expect.any(String) } });
    return body.error.message as string;
  }

  async function review(e: APIGatewayProxyEvent, h = handler) {
    const result = await call(e, h);
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body);
    expect(body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    return body.response as {
      uid: string;
      allowed: boolean;
      status?: { code: number; reason: string; message: string };
      warnings?: string[];
      patchType?: string;
      patch?: string;
    };
  }

  afterAll(async () => {
    // Nothing above, however malformed, changed the ledger.
    expect(await ledger.listPools()).toEqual(poolsBefore);
  });

  it.each([
    ['a wrong secret', `/webhook/${secret.slice(0, -1)}x`],
    ['a secret one character short', `/webhook/${secret.slice(0, -1)}`],
    ['no secret', '/webhook/'],
    ['no path', '/'],
    ['a path after the secret', `/webhook/${secret}/other`],
    ['the secret elsewhere', `/${secret}`],
    ['the secret in another case', `/webhook/${secret.toUpperCase()}`],
  ])('answers 404 not_found for %s, as if nothing were there', async (_case, badPath) => {
    const body = reviewOf(manifest('x', {})).json();
    expect(await envelope(event({ path: badPath, body }), 404, 'not_found')).toBe('Not found');
  });

  it('answers 405 to other methods once the secret is right', async () => {
    const result = await call(event({ httpMethod: 'GET' }));
    expect(result.statusCode).toBe(405);
    expect(result.headers).toMatchObject({ Allow: 'POST' });
  });

  it('answers 415 to a body that is not JSON by its content type', async () => {
    await envelope(
      event({ headers: { 'content-type': 'text/yaml' }, body: 'x' }),
      415,
      'unsupported_media_type',
    );
  });

  it.each([
    ['no body', null],
    ['an empty body', ''],
    ['malformed JSON', '{"apiVersion": "admission.k8s.io/v1", '],
    ['JSON that is not an object', '[1, 2]'],
    ['another kind', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' })],
    [
      'an admission.k8s.io/v1beta1 review',
      JSON.stringify({ ...admissionReviewOf({ uid: 'u' }), apiVersion: 'admission.k8s.io/v1beta1' }),
    ],
    ['no request', JSON.stringify(admissionReviewOf(undefined))],
    ['no uid', reviewOf(manifest('x', {})).with({ uid: undefined }).json()],
    ['a numeric uid', reviewOf(manifest('x', {})).with({ uid: 42 }).json()],
    ['a uid with a newline', reviewOf(manifest('x', {})).with({ uid: 'a\nb' }).json()],
  ])('answers 400 invalid_request to %s (no review can be answered without a uid)', async (_case, body) => {
    await envelope(event({ body }), 400, 'invalid_request');
  });

  it('answers 413 to a body over 1 MiB before parsing it, in text or base64', async () => {
    const big = reviewOf({ padding: 'x'.repeat(MAX_BODY_BYTES) }).json();
    await envelope(event({ body: big }), 413, 'payload_too_large');
    const base64 = Buffer.from(big).toString('base64');
    await envelope(event({ body: base64, isBase64Encoded: true }), 413, 'payload_too_large');
    // Multi-byte characters count as bytes, not characters.
    await envelope(event({ body: '€'.repeat(MAX_BODY_BYTES / 2) }), 413, 'payload_too_large');
  });

  it('reads a base64-encoded body like a text one', async () => {
    const body = Buffer.from(reviewOf(manifest('b64', {})).json()).toString('base64');
    expect((await review(event({ body, isBase64Encoded: true }))).allowed).toBe(true);
  });

  it.each([
    [
      'an unknown operation',
      { operation: 'PATCH' },
      'malformed AdmissionReview: request.operation must be one of CREATE, UPDATE, DELETE, CONNECT',
    ],
    ['a numeric operation', { operation: 5 }, 'malformed AdmissionReview: request.operation'],
    [
      'no resource',
      { resource: undefined },
      'malformed AdmissionReview: request.resource must be {group, version, resource} strings',
    ],
    [
      'a resource of the wrong shape',
      { resource: 'inferencemodels' },
      'malformed AdmissionReview: request.resource',
    ],
    ['dryRun a string', { dryRun: 'true' }, 'malformed AdmissionReview: request.dryRun must be a boolean'],
    ['namespace a number', { namespace: 1 }, 'malformed AdmissionReview: request.namespace must be a string'],
    [
      'no object',
      { object: undefined },
      'malformed AdmissionReview: request.object must be the InferenceModel',
    ],
    ['a string object', { object: 'llama' }, 'malformed AdmissionReview: request.object'],
  ])('denies a review with %s, echoing the uid', async (_case, extra, message) => {
    const request = reviewOf(manifest('x', {})).with(extra);
    const response = await review(event({ body: request.json() }));
    expect(response).toEqual({
      uid: request.uid,
      allowed: false,
      status: { code: 400, reason: 'BadRequest', message: expect.stringContaining(message) },
    });
  });

  it.each([
    [
      'wrong types',
      { memory: 80, maxReplicas: '1', dependencies: 'x' },
      [
        'spec.memory: Invalid value: 80',
        'spec.maxReplicas: Invalid value: "1"',
        'spec.dependencies: Invalid value: "x"',
      ],
    ],
    ['an unknown field', { replicas: 3 }, ['unknown field "spec.replicas"']],
  ])('denies an InferenceModel with %s as Invalid (422)', async (_case, spec, messages) => {
    const response = await review(event({ body: reviewOf(manifest('x', spec)).json() }));
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 422, reason: 'Invalid' });
    for (const m of messages) expect(response.status!.message).toContain(m);
  });

  it.each([
    ['a snowman', 'llama-☃'],
    ['right-to-left override', 'llama\u202e2'],
    ['a lone surrogate', 'llama\ud800'],
    ['zero-width joiner', 'lla\u200dma'],
    ['an escape sequence', '\u001b[31mllama'],
    ['full-width letters', 'ｌｌａｍａ'],
  ])('denies a name with %s, with a message free of control characters', async (_case, name) => {
    const object = { ...manifest('x', {}), metadata: { name, namespace } };
    const response = await review(event({ body: reviewOf(object).name(name).json() }));
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toContain('metadata.name: Invalid value');
    // eslint-disable-next-line no-control-regex
    expect(response.status!.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it('allows deletes, other resources and subresources without looking', async () => {
    for (const extra of [
      { operation: 'DELETE', object: null, oldObject: manifest('x', { memory: '999Ti' }) },
      { resource: { group: 'apps', version: 'v1', resource: 'deployments' }, object: { kind: 'Deployment' } },
      { subResource: 'status', object: manifest('x', { memory: 'nonsense' }) },
    ]) {
      const request = reviewOf(manifest('x', {})).with(extra);
      expect(await review(event({ body: request.json() }))).toEqual({ uid: request.uid, allowed: true });
    }
  });

  it('patches missing defaults on the mutate path only', async () => {
    const minimal = manifest('defaults', {});
    const body = reviewOf(minimal).json();
    const mutated = await review(event({ path: `${path}/mutate`, body }));
    expect(mutated.allowed).toBe(true);
    expect(mutated.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(mutated.patch!, 'base64').toString())).toEqual([
      { op: 'add', path: '/spec/nodeSelector', value: { 'inference-pool': 'default' } },
      { op: 'add', path: '/spec/cooldownPeriod', value: '10m' },
      { op: 'add', path: '/spec/maxReplicas', value: 1 },
      { op: 'add', path: '/spec/dependencies', value: [] },
      { op: 'add', path: '/spec/containerImage', value: '' },
      { op: 'add', path: '/spec/resources', value: {} },
      { op: 'add', path: '/metadata/finalizers', value: ['inference.eh-ops.io/finalizer'] },
    ]);
    const validated = await review(event({ body }));
    expect(validated).toEqual({ uid: expect.any(String), allowed: true });
  });

  it('adds the finalizer on creation only, after any the model already has', async () => {
    const patchOn = async (request: AdmissionReviewBuilder) => {
      const mutated = await review(event({ path: `${path}/mutate`, body: request.json() }));
      const patch = mutated.patch ? JSON.parse(Buffer.from(mutated.patch, 'base64').toString()) : [];
      return (patch as { path: string }[]).filter((op) => op.path.startsWith('/metadata/'));
    };
    const withOther = manifest('other-finalizer', {});
    const object = { ...withOther, metadata: { ...withOther.metadata, finalizers: ['example.com/keep'] } };
    expect(await patchOn(reviewOf(object))).toEqual([
      { op: 'add', path: '/metadata/finalizers/-', value: 'inference.eh-ops.io/finalizer' },
    ]);
    const owned = {
      ...object,
      metadata: { ...object.metadata, finalizers: ['inference.eh-ops.io/finalizer'] },
    };
    expect(await patchOn(reviewOf(owned))).toEqual([]);
    const changed = manifest('other-finalizer', { memory: '24Gi' });
    expect(await patchOn(reviewOf(changed).update(withOther))).toEqual([]);
  });

  it('leaves denials to the validating call: the mutate path adds defaults to an invalid model too', async () => {
    const invalid = manifest('invalid', { memory: '80GB', dependencies: ['invalid'] });
    const body = reviewOf(invalid).json();
    const mutated = await review(event({ path: `${path}/mutate`, body }));
    expect(mutated).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    const validated = await review(event({ body }));
    expect(validated.allowed).toBe(false);
    expect(validated.status!.message).toBe(
      'spec.memory: Invalid value: "80GB": must be a whole number of Ki, Mi, Gi or Ti, e.g. 80Gi; ' +
        'spec.dependencies[0]: Invalid value: "invalid": a model cannot depend on itself',
    );
  });

  it('lets a metadata-only update through even when the spec would no longer be admitted', async () => {
    const old = manifest('grandfathered', { memory: '999Gi' });
    const object = { ...old, metadata: { ...old.metadata, finalizers: ['inference.eh-ops.io/finalizer'] } };
    const request = reviewOf(object).update(old).notDryRun();
    expect(await review(event({ body: request.json() }))).toEqual({ uid: request.uid, allowed: true });
    const deleting = {
      ...object,
      metadata: { ...object.metadata, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [] },
    };
    const removal = reviewOf({ ...deleting, spec: { ...deleting.spec, memory: 'x' } }).update(object);
    expect((await review(event({ body: removal.json() }))).allowed).toBe(true);
  });

  it('denies, fails closed and fast, when the ledger is unreachable', async () => {
    const down = createWebhookHandler({ ...config, dynamoDbEndpoint: 'http://127.0.0.1:9' });
    const started = Date.now();
    const response = await review(event({ body: reviewOf(manifest('x', {})).json() }), down);
    expect(response).toMatchObject({
      allowed: false,
      status: { code: 503, reason: 'ServiceUnavailable', message: 'budget ledger unreachable; retry' },
    });
    expect(Date.now() - started).toBeLessThan(DEADLINES_MS.ledger + 1_000);
  });

  it('denies a pool move, failing closed, when the ledger is unreachable', async () => {
    const down = createWebhookHandler({ ...config, dynamoDbEndpoint: 'http://127.0.0.1:9' });
    const old = manifest('x', { nodeSelector: { 'inference-pool': 'gpu-a100' } });
    const request = reviewOf(manifest('x', {})).update(old);
    expect(await review(event({ body: request.json() }), down)).toMatchObject({
      allowed: false,
      status: { code: 503, reason: 'ServiceUnavailable', message: 'budget ledger unreachable; retry' },
    });
  });

  it('admits with a warning, failing open, when the InferenceModels cannot be listed for the cycle check', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ibcp-webhook-'));
    const unreachable = join(dir, 'kubeconfig.yaml');
    await writeFile(
      unreachable,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:9"}}]',
        'users: [{name: gone, user: {token: x}}]',
        'contexts: [{name: gone, context: {cluster: gone, user: gone}}]',
        'current-context: gone',
      ].join('\n'),
    );
    try {
      const blind = createWebhookHandler({ ...config, kubernetes: { kubeconfig: unreachable } });
      const request = reviewOf(manifest('x', { dependencies: ['mistral-7b'] }));
      const started = Date.now();
      expect(await review(event({ body: request.json() }), blind)).toEqual({
        uid: request.uid,
        allowed: true,
        warnings: [
          'dependencies not checked for cycles: the InferenceModels could not be listed; reapply to check',
        ],
      });
      expect(Date.now() - started).toBeLessThan(DEADLINES_MS.models + 1_000);
      // A model without dependencies never needs the list: no warning.
      const plain = reviewOf(manifest('y', {}));
      expect(await review(event({ body: plain.json() }), blind)).toEqual({
        uid: plain.uid,
        allowed: true,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers within its deadlines when the ledger or EventBridge hangs', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const hang = createServer(() => undefined); // accepts, never answers
    hang.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
    const blackhole = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
    const saved = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    try {
      const slowLedger = createWebhookHandler({ ...config, dynamoDbEndpoint: blackhole });
      let started = Date.now();
      const denied = await review(event({ body: reviewOf(manifest('x', {})).json() }), slowLedger);
      expect(denied.status).toMatchObject({ code: 503, message: 'budget ledger unreachable; retry' });
      expect(Date.now() - started).toBeLessThan(DEADLINES_MS.ledger + 500);

      process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = blackhole;
      const slowEvents = createWebhookHandler(config);
      started = Date.now();
      const request = reviewOf(manifest('slow-events', {})).notDryRun();
      expect(await review(event({ body: request.json() }), slowEvents)).toEqual({
        uid: request.uid,
        allowed: true,
      });
      expect(Date.now() - started).toBeLessThan(DEADLINES_MS.events + 1_000);
    } finally {
      process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = saved;
      for (const socket of sockets) socket.destroy();
      hang.close();
    }
  });

  it('still admits when EventBridge refuses the event (the scheduled pass catches up)', async () => {
    const noBus = createWebhookHandler({ ...config, eventBusName: uniqueName('missing-bus') });
    const request = reviewOf(manifest('no-bus', {})).notDryRun();
    expect(await review(event({ body: request.json() }), noBus)).toEqual({
      uid: request.uid,
      allowed: true,
    });
  });

  it('reads the secret from Secrets Manager once, by ARN', async () => {
    const sm = new SecretsManagerClient({});
    const stored = randomBytes(24).toString('base64url');
    const { ARN } = await sm.send(
      new CreateSecretCommand({ Name: uniqueName('webhook-secret'), SecretString: stored }),
    );
    sm.destroy();
    const fromArn = createWebhookHandler({ ...config, secret: { arn: ARN! } });
    const body = reviewOf(manifest('sm', {})).json();
    expect((await review(event({ path: `/webhook/${stored}`, body }), fromArn)).allowed).toBe(true);
    expect((await call(event({ path, body }), fromArn)).statusCode).toBe(404);
  });

  it('refuses to run with a weak secret: every path is unknown (404), and the reason is logged', async () => {
    const weak = createWebhookHandler({ ...config, secret: { value: 'short' } });
    const result = await call(
      event({ path: '/webhook/short', body: reviewOf(manifest('x', {})).json() }),
      weak,
    );
    expect(result.statusCode).toBe(404);
    expect(JSON.parse(result.body).error.code).toBe('not_found');
  });
});

describe('the webhook as its own group', () => {
  // Runs after the reviews above, which read a namespace's models for the dependency-cycle check.
  it('was never refused, and sent exactly what deploy/rbac/ grants it: list InferenceModels', async () => {
    const sent = await auditedRequests(webhookIdentity.user);
    expect(sent.filter((r) => r.status === 403)).toEqual([]);
    expect([...new Set(sent.map((r) => `${r.apiGroup}/${r.resource}:${r.verb}`))]).toEqual([
      'inference.eh-ops.io/inferencemodels:list',
    ]);
  });
});
