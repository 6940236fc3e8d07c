// The control plane's Lambdas as `cdk synth` writes them (bundle folder, handler, environment), and what
// it takes to run them under the Lambda emulator against the harness's services: the tests invoke each
// bundle once, `npm run bench:cold-start` times their init phase.
import { execFile } from 'node:child_process';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { ensureLedgerTable } from '../lambdas/adapters/dynamodb-ledger.js';
import { repoRoot } from './kubectl.js';

const run = promisify(execFile);

/** `cdk synth` as a user runs it (the CLI, the app in bin/, local esbuild bundling) into `outDir`. */
export async function synthesize(outDir: string): Promise<void> {
  await run(join(repoRoot, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--output', outDir], {
    cwd: repoRoot,
    env: { ...process.env, PATH: `${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH}` },
    maxBuffer: 64 * 1024 * 1024,
  });
  // The harness gives the functions a kubeconfig file, whose reader loads client-node at run time (the
  // bundles leave it out: on AWS they reach the cluster through its EKS endpoint). From the bundles'
  // folders Node finds that one package here, and its dependencies beside its real path in the repo's
  // node_modules; any other package a bundle failed to hold still fails to load, as on Lambda.
  await mkdir(join(outDir, 'node_modules', '@kubernetes'), { recursive: true });
  await symlink(
    join(repoRoot, 'node_modules', '@kubernetes', 'client-node'),
    join(outDir, 'node_modules', '@kubernetes', 'client-node'),
  );
}

export interface SynthesizedFunction {
  /** The construct's id, e.g. `WarmUpApi`. */
  name: string;
  /** The bundle's folder in the cloud assembly (what Lambda unzips into /var/task). */
  taskRoot: string;
  handler: string;
  timeoutSeconds: number;
  memorySize: number;
  /** As the template gives it; values that are references are resolved by `resolveEnvironment`. */
  environment: Record<string, unknown>;
}

interface TemplateResource {
  Type: string;
  Properties: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** Every function of the stack whose code is one of our bundles (CDK's own helper functions excluded). */
export async function synthesizedFunctions(
  outDir: string,
  stack = 'InferenceBudgetControlPlane',
): Promise<SynthesizedFunction[]> {
  const template = JSON.parse(await readFile(join(outDir, `${stack}.template.json`), 'utf8')) as {
    Resources: Record<string, TemplateResource>;
  };
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Metadata?.['aws:asset:is-bundled'] === true)
    .map((r) => {
      const path = String(r.Metadata!['aws:cdk:path']).split('/');
      const variables = (r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      return {
        name: path[path.length - 2]!,
        taskRoot: join(outDir, String(r.Metadata!['aws:asset:path'])),
        handler: String(r.Properties.Handler),
        timeoutSeconds: Number(r.Properties.Timeout ?? 3),
        memorySize: Number(r.Properties.MemorySize ?? 128),
        environment: variables ?? {},
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * The function's environment with each reference (`Ref`, `Fn::GetAtt`, ...) replaced by the value of
 * the same variable in `resources`, the harness's stand-ins; a reference with no stand-in fails, so a new
 * one is noticed here rather than in a deploy. Literal values are kept as the template has them.
 */
export function resolveEnvironment(
  fn: SynthesizedFunction,
  resources: Record<string, string>,
): Record<string, string> {
  const resolved: Record<string, string> = {
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
  };
  for (const [name, value] of Object.entries(fn.environment)) {
    if (typeof value === 'string') resolved[name] = value;
    else if (resources[name] !== undefined) resolved[name] = resources[name];
    else
      throw new Error(
        `${fn.name}: ${name} is ${JSON.stringify(value)}, which the harness has no stand-in for`,
      );
  }
  return resolved;
}

/** The path secret the webhook bundle finds in (moto's) Secrets Manager. */
const WEBHOOK_SECRET = 'bundle-test-webhook-secret-0123456789abcdef';

/**
 * Creates, on dynalite and moto, what the template's references point at (ledger table, event bus,
 * webhook secret, on-call topic; the harness's Prometheus stands in for the AMP workspace), and returns the stand-in values with the variables that send the
 * functions to the harness instead of AWS: the ledger's endpoint, moto for every AWS client, and the
 * harness's kubeconfig (the Lambdas otherwise describe the EKS cluster and sign a token).
 */
export async function harnessResources(
  endpoints: { dynalite: string; moto: string; kubeconfig: string; prometheus: string },
  prefix: string,
  namespace: string,
): Promise<{ resources: Record<string, string>; harness: Record<string, string> }> {
  const aws = { region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  const moto = { ...aws, endpoint: endpoints.moto };
  const dynamoDb = new DynamoDBClient({ ...aws, endpoint: endpoints.dynalite });
  const events = new EventBridgeClient(moto);
  const secrets = new SecretsManagerClient(moto);
  const sns = new SNSClient(moto);
  try {
    const table = `${prefix}-ledger`;
    await ensureLedgerTable(dynamoDb, table);
    await events.send(new CreateEventBusCommand({ Name: `${prefix}-bus` }));
    const secret = await secrets.send(
      new CreateSecretCommand({ Name: `${prefix}-webhook`, SecretString: WEBHOOK_SECRET }),
    );
    const topic = await sns.send(new CreateTopicCommand({ Name: `${prefix}-on-call` }));
    return {
      resources: {
        LEDGER_TABLE: table,
        EVENT_BUS_NAME: `${prefix}-bus`,
        WEBHOOK_SECRET_ARN: secret.ARN!,
        ON_CALL_TOPIC_ARN: topic.TopicArn!,
        // Only alarms of this stack are trusted (moto's account and region, the stack's name).
        REMEDIATION_ALARM_ARN_PREFIX:
          'arn:aws:cloudwatch:us-east-1:123456789012:alarm:InferenceBudgetControlPlane-',
        AMP_REMOTE_WRITE_URL: `${endpoints.prometheus}/api/v1/write`,
        PROMETHEUS_QUERY_URL: endpoints.prometheus,
      },
      harness: {
        DYNAMODB_ENDPOINT: endpoints.dynalite,
        KUBECONFIG: endpoints.kubeconfig,
        // The harness's cluster is shared by every test file: each run stays in its own namespace.
        WATCH_NAMESPACE: namespace,
        AWS_ENDPOINT_URL: endpoints.moto,
        AWS_REGION: aws.region,
        AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      },
    };
  } finally {
    for (const client of [dynamoDb, events, secrets, sns]) client.destroy();
  }
}

/**
 * One real event per function, as its trigger sends it, and what a correct answer looks like. Each one
 * reaches the function's outside systems (the ledger, the Kubernetes API, moto).
 */
export function invocationOf(
  name: string,
  namespace: string,
): { event: unknown; answered: (response: unknown) => boolean } {
  const time = new Date().toISOString();
  const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', time, detail: {} };
  const api = (httpMethod: string, path: string, body: unknown) => ({
    httpMethod,
    path,
    headers: { 'content-type': 'application/json' },
    queryStringParameters: null,
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
  });
  const status = (code: number) => (response: unknown) =>
    (response as { statusCode?: number } | undefined)?.statusCode === code;
  switch (name) {
    case 'ReconcileScheduled':
      return { event: scheduled, answered: (r) => typeof (r as { models?: unknown })?.models === 'number' };
    case 'ReconcileModel':
      return {
        event: {
          'detail-type': 'InferenceModel changed',
          source: 'inference-budget-control-plane',
          time,
          detail: { namespace, name: 'bundle-test' },
        },
        answered: (r) => (r as { reconciled?: unknown })?.reconciled === `${namespace}/bundle-test`,
      };
    case 'WarmUpApi':
      return { event: api('GET', '/v1/pools', undefined), answered: status(200) };
    case 'AdmissionWebhook':
      return {
        event: api('POST', `/webhook/${WEBHOOK_SECRET}`, {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid: 'bundle-test',
            kind: { group: 'inference.eh-ops.io', version: 'v1alpha1', kind: 'InferenceModel' },
            resource: { group: 'inference.eh-ops.io', version: 'v1alpha1', resource: 'inferencemodels' },
            namespace,
            operation: 'CREATE',
            // Pool `default` of cdk.json: the webhook reads its budget from the ledger.
            object: {
              apiVersion: 'inference.eh-ops.io/v1alpha1',
              kind: 'InferenceModel',
              metadata: { name: 'bundle-test', namespace },
              spec: { modelName: 'bundle-test', memory: '16Gi', backendUrl: 'http://bundle-test:8000' },
            },
            userInfo: { username: 'bundle-test' },
            dryRun: true,
          },
        }),
        answered: (r) =>
          status(200)(r) &&
          (JSON.parse((r as { body: string }).body) as { response?: { uid?: string } }).response?.uid ===
            'bundle-test',
      };
    case 'Remediation':
      return { event: scheduled, answered: (r) => Array.isArray((r as { results?: unknown })?.results) };
    default:
      throw new Error(`no event for the function ${name}: add one here`);
  }
}
