import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DynamoDbLedger } from '../../adapters/dynamodb-ledger.js';
import { EventBridgeReconcileRequests } from '../../adapters/eventbridge-reconcile-requests.js';
import { KubernetesCluster } from '../../adapters/kubernetes-cluster.js';
import { ConfigError, type WebhookConfig } from '../../config.js';
import { DEADLINES_MS } from '../../core/admission/decide.js';
import type { WebhookPorts } from '../../core/admission/webhook.js';
import { logger } from '../logger.js';
import { KubeConfigSource } from './kube-config-source.js';

const MIN_SECRET_LENGTH = 32;
/** How long a loaded secret is used before Secrets Manager is asked again, so a rotation reaches warm Lambdas. */
export const SECRET_REFRESH_MS = 60_000;
/** After a rotation the previous secret is still accepted this long (docs/webhook.md#rotating-the-secret). */
export const SECRET_GRACE_MS = 24 * 3600_000;

/**
 * Adapters with short SDK timeouts and one retry: a slow dependency must not outlast the API server's
 * wait. (Without `throwOnRequestTimeout` the SDK only warns when a request runs past its timeout.)
 */
export function webhookPorts(config: WebhookConfig, clock: () => number): WebhookPorts {
  const sdk = {
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_200, throwOnRequestTimeout: true },
  };
  const ledger = new DynamoDbLedger(
    new DynamoDBClient({ ...sdk, ...(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {}) }),
    config.ledgerTable,
    config.cluster,
  );
  const reconcileRequests = new EventBridgeReconcileRequests(new EventBridgeClient(sdk), config.eventBusName);
  const kubeConfigs = new KubeConfigSource(config.kubernetes);
  let loaded: { secrets: Promise<string[]>; until: number } | undefined;
  return {
    secrets: () => {
      const now = clock();
      if (!loaded || now >= loaded.until) {
        const entry = { secrets: loadSecrets(config, sdk, now), until: now + SECRET_REFRESH_MS };
        loaded = entry;
        entry.secrets.catch(() => {
          if (loaded === entry) loaded = undefined; // a failed fetch is retried by the next request
        });
      }
      return loaded.secrets;
    },
    readPool: (pool) => ledger.readPool(pool),
    listModels: async (namespace) =>
      new KubernetesCluster(await kubeConfigs.current(), { namespaces: [namespace] }).listModels(),
    reconcileRequests,
    log: logger,
  };
}

/**
 * The current secret (`AWSCURRENT`) and, for SECRET_GRACE_MS after the current one was stored, the previous
 * one (`AWSPREVIOUS`): the API server keeps calling the old URL until its configurations are re-applied.
 */
async function loadSecrets(config: WebhookConfig, sdk: object, now: number): Promise<string[]> {
  if ('value' in config.secret) return [checkedSecret(config.secret.value)];
  const client = new SecretsManagerClient(sdk);
  const read = (stage: 'AWSCURRENT' | 'AWSPREVIOUS') =>
    client.send(
      new GetSecretValueCommand({ SecretId: (config.secret as { arn: string }).arn, VersionStage: stage }),
      {
        abortSignal: AbortSignal.timeout(DEADLINES_MS.secret),
      },
    );
  try {
    const current = await read('AWSCURRENT');
    const accepted = [checkedSecret(current.SecretString ?? '')];
    const storedAt = current.CreatedDate?.getTime();
    if (storedAt !== undefined && now < storedAt + SECRET_GRACE_MS) {
      const previous = await read('AWSPREVIOUS').catch((error: unknown) => {
        // A secret never rotated has no previous version.
        if (error instanceof ResourceNotFoundException) return undefined;
        throw error;
      });
      const value = previous?.SecretString?.trim();
      if (value && isStrongSecret(value)) accepted.push(value);
    }
    return accepted;
  } finally {
    client.destroy();
  }
}

function checkedSecret(raw: string): string {
  const value = raw.trim();
  if (!isStrongSecret(value)) {
    throw new ConfigError(
      `the webhook secret must be at least ${MIN_SECRET_LENGTH} characters of A-Z, a-z, 0-9, '_' or '-' (it is a URL path segment)`,
    );
  }
  return value;
}

function isStrongSecret(value: string): boolean {
  return value.length >= MIN_SECRET_LENGTH && /^[A-Za-z0-9_-]+$/.test(value);
}
