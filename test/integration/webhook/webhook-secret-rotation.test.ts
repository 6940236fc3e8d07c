import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { WebhookConfig } from '../../../lambdas/config.js';
import { harnessEnv } from '../../../services/service.js';
import { jsonLinesPrinted } from '../../support/captured-output.js';
import { uniqueName } from '../../../services/kubectl.js';
import { admissionReviewOf } from '../../support/builders.js';

/**
 * The rotation procedure of docs/webhook.md#rotating-the-secret against moto's Secrets Manager: a new
 * value is put (it becomes AWSCURRENT, the old one AWSPREVIOUS); both paths are accepted until the grace
 * window ends, then only the new one.
 */
// Set before the handler's logger exists (it reads the variable once): an operator may turn event logging on.
process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
const { createWebhookHandler } = await import('../../../lambdas/handlers/admission-webhook.js');
const { SECRET_GRACE_MS, SECRET_REFRESH_MS } =
  await import('../../../lambdas/handlers/composition-root/webhook-ports.js');

const context = { functionName: 'admission-webhook', awsRequestId: 'test' } as Context;
const newSecret = () => randomBytes(32).toString('base64url');

let sm: SecretsManagerClient;
beforeAll(() => {
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = harnessEnv('IBCP_MOTO_ENDPOINT');
  sm = new SecretsManagerClient({});
});
afterAll(() => {
  sm.destroy();
  delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
});

function configFor(arn: string): WebhookConfig {
  // No request below reaches the ledger, the bus or the cluster: the secret decides first.
  return {
    ledgerTable: 'unused',
    dynamoDbEndpoint: undefined,
    eventBusName: 'unused',
    secret: { arn },
    kubernetes: { kubeconfig: harnessEnv('IBCP_KUBECONFIG') },
  };
}

/**
 * 404 when the path's secret is not accepted; 200 when it is: the review names no operation, so it is
 * denied (and logged) without reaching the ledger.
 */
async function status(handler: ReturnType<typeof createWebhookHandler>, secret: string): Promise<number> {
  const event = {
    httpMethod: 'POST',
    path: `/webhook/${secret}`,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(admissionReviewOf({ uid: 'u1' })),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEvent;
  return ((await handler(event, context)) as APIGatewayProxyResult).statusCode;
}

describe('webhook secret rotation', () => {
  it('accepts the current and the previous secret during the grace window, then only the current one', async () => {
    const first = newSecret();
    const { ARN } = await sm.send(
      new CreateSecretCommand({ Name: uniqueName('webhook-rotation'), SecretString: first }),
    );
    let now = Date.now();
    const handler = createWebhookHandler(configFor(ARN!), () => now);
    expect(await status(handler, first)).toBe(200);

    // Step 1 of the procedure: the new value becomes AWSCURRENT, the old one AWSPREVIOUS.
    const second = newSecret();
    await sm.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: second }));
    const { VersionIdsToStages } = await sm.send(new DescribeSecretCommand({ SecretId: ARN }));
    expect(Object.values(VersionIdsToStages!).flat().sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);

    // A warm Lambda picks the new value up within the refresh interval, and keeps the old one.
    expect(await status(handler, second)).toBe(404);
    now += SECRET_REFRESH_MS;
    expect(await status(handler, second)).toBe(200);
    expect(await status(handler, first)).toBe(200);
    expect(await status(handler, newSecret())).toBe(404);

    // Once the grace window is over, the old URL is an unknown path.
    now += SECRET_GRACE_MS;
    expect(await status(handler, first)).toBe(404);
    expect(await status(handler, second)).toBe(200);
  });

  it('never logs a secret, even with POWERTOOLS_LOGGER_LOG_EVENT=true', async () => {
    const secret = newSecret();
    const { ARN } = await sm.send(
      new CreateSecretCommand({ Name: uniqueName('webhook-logs'), SecretString: secret }),
    );
    const handler = createWebhookHandler(configFor(ARN!));
    const lines = await jsonLinesPrinted(async () => {
      expect(await status(handler, secret)).toBe(200);
      expect(await status(handler, `${secret}x`)).toBe(404);
    });
    expect(lines).toContainEqual(expect.objectContaining({ message: 'Admission review' }));
    expect(JSON.stringify(lines)).not.toContain(secret);
  });

  it.each([
    ['a secret that does not exist', (arn: string) => `${arn}-missing`],
    ['a weak secret', (arn: string) => arn],
  ])('answers 404, never 500, when the secret cannot be loaded (%s)', async (_case, arnOf) => {
    const { ARN } = await sm.send(
      new CreateSecretCommand({ Name: uniqueName('webhook-weak'), SecretString: 'short' }),
    );
    const handler = createWebhookHandler(configFor(arnOf(ARN!)));
    const lines = await jsonLinesPrinted(async () => {
      expect(await status(handler, 'short')).toBe(404);
    });
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'Webhook secret could not be loaded' }),
    );
  });
});
