import './source-mapped-stacks.js';
import { createHash, timingSafeEqual } from 'node:crypto';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { DynamoDbLedger } from '../adapters/dynamodb-ledger.js';
import { EventBridgeReconcileRequests } from '../adapters/eventbridge-reconcile-requests.js';
import { ApiError } from '../core/api/errors.js';
import { LedgerError, type PoolSnapshot } from '../core/ledger/model.js';
import { KubernetesCluster } from '../adapters/kubernetes-cluster.js';
import {
  API_GROUP,
  FINALIZER,
  type InferenceModel,
  type ModelRef,
  type ReconcileRequests,
} from '../core/reconcile/model.js';
import {
  closedCycle,
  cycleMessage,
  dependencyNodeOf,
  mayCloseCycle,
  type DependencyNode,
} from '../core/validation/dependency-cycles.js';
import {
  checkBudget,
  checkPoolMove,
  inspectInferenceModel,
  isBeingDeleted,
  poolOfObject,
  specUnchanged,
  type JsonPatchOperation,
} from '../core/validation/inference-model.js';
import { checkWorkloadBudget } from '../core/moe/workload.js';
import { inspectWorkload } from '../core/validation/moe-workload.js';
import { ConfigError, webhookConfig, type WebhookConfig } from '../config.js';
import { logger } from './logger.js';
import { KubeConfigSource } from './wiring/kube-config-source.js';

/**
 * The InferenceModel admission webhook behind API Gateway (REST, proxy integration); docs/webhook.md.
 *
 * `POST /webhook/{secret}` validates (the ValidatingWebhookConfiguration's URL) and
 * `POST /webhook/{secret}/mutate` only adds missing defaults (the MutatingWebhookConfiguration's): the
 * API server refuses a patch from a validating webhook, so the two are told apart by path. The secret
 * path segment is the authentication; a wrong one is a 404, as for any unknown path.
 *
 * Bad input never yields a 5xx nor touches the ledger (the webhook only reads: the model's pool, and its
 * old pool when an update moves it). When the ledger cannot be read the model is denied (fail closed)
 * with a message saying to retry. The namespace's models are listed only when a change may close a
 * dependency cycle; when they cannot be, the change is admitted with a warning (fail open: a cycle
 * costs no budget, and the reconciler leaves models in one waiting).
 */

export const MAX_BODY_BYTES = 1024 * 1024;
/** Each outside call has its own deadline so that the whole answer stays well inside the API server's 10 s. */
export const DEADLINES_MS = { secret: 2_500, ledger: 3_000, models: 3_000, events: 2_000 } as const;
const MIN_SECRET_LENGTH = 32;
const ROUTE = /^\/webhook\/([^/]+)(\/mutate)?$/;
const ADMISSION_VERSION = 'admission.k8s.io/v1';
const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** What the webhook needs from outside; built once per execution environment. */
export interface WebhookPorts {
  /** The path secrets accepted now: the current one, and the previous one during its grace window. */
  secrets(): Promise<string[]>;
  readPool(pool: string): Promise<PoolSnapshot>;
  /** The InferenceModels of one namespace, as stored. */
  listModels(namespace: string): Promise<InferenceModel[]>;
  reconcileRequests: ReconcileRequests;
}

/** How long a loaded secret is used before Secrets Manager is asked again, so a rotation reaches warm Lambdas. */
export const SECRET_REFRESH_MS = 60_000;
/** After a rotation the previous secret is still accepted this long (docs/webhook.md#rotating-the-secret). */
export const SECRET_GRACE_MS = 24 * 3600_000;

/**
 * Adapters with short SDK timeouts and one retry: a slow dependency must not outlast the API server's
 * wait. (Without `throwOnRequestTimeout` the SDK only warns when a request runs past its timeout.)
 */
export function webhookPorts(config: WebhookConfig, clock: () => number = Date.now): WebhookPorts {
  const sdk = {
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_200, throwOnRequestTimeout: true },
  };
  const ledger = new DynamoDbLedger(
    new DynamoDBClient({ ...sdk, ...(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {}) }),
    config.ledgerTable,
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

/** A handler over the given configuration (default: the environment, read on first use). */
export function createWebhookHandler(
  config?: WebhookConfig | (() => WebhookConfig),
  clock: () => number = Date.now,
) {
  let ports: WebhookPorts | undefined;
  const portsNow = (): WebhookPorts =>
    (ports ??= webhookPorts(typeof config === 'function' ? config() : (config ?? webhookConfig()), clock));
  return middy(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      return await answer(event, portsNow);
    } catch (error) {
      if (error instanceof ApiError) return json(error.status, error.body, error.headers);
      logger.error('Admission webhook failed', { error: String(error) });
      const failure = new ApiError('internal_error', 'The admission webhook failed to answer; retry later');
      return json(failure.status, failure.body);
    }
    // The event is never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says: its path is the secret.
  }).use(injectLambdaContext(logger, { logEvent: false }));
}

export const handler = createWebhookHandler();

type Mode = 'validate' | 'mutate';

async function answer(
  event: APIGatewayProxyEvent,
  portsNow: () => WebhookPorts,
): Promise<APIGatewayProxyResult> {
  // The path holds the secret: it is never logged, and a wrong one looks like any unknown path.
  const route = typeof event?.path === 'string' ? ROUTE.exec(event.path) : null;
  const ports = route ? portsNow() : undefined;
  if (!route || !ports || !(await knownSecret(ports, route[1]!))) {
    throw new ApiError('not_found', 'Not found');
  }
  const mode: Mode = route[2] ? 'mutate' : 'validate';
  if (event.httpMethod !== 'POST') {
    throw new ApiError(
      'method_not_allowed',
      'Only POST is allowed here',
      { allowed: ['POST'] },
      { Allow: 'POST' },
    );
  }
  const contentType = header(event, 'content-type');
  if (contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    throw new ApiError('unsupported_media_type', 'Send the AdmissionReview as application/json');
  }
  const review = parseReview(bodyText(event));
  const started = Date.now();
  const response = await decide(review, mode, ports);
  logger.info('Admission review', {
    mode,
    operation: review.operation,
    kind: review.kind,
    namespace: review.ref?.namespace,
    model: review.ref?.name,
    dryRun: review.dryRun,
    allowed: response.allowed,
    code: response.status?.code,
    durationMs: Date.now() - started,
  });
  return json(200, { apiVersion: ADMISSION_VERSION, kind: 'AdmissionReview', response });
}

// ---- request parsing -------------------------------------------------------------------------------

function bodyText(event: APIGatewayProxyEvent): string {
  const body: unknown = event.body;
  if (typeof body !== 'string' || body === '') {
    throw new ApiError('invalid_request', 'The body must be an AdmissionReview (JSON)');
  }
  const tooLarge = new ApiError('payload_too_large', `The body is larger than ${MAX_BODY_BYTES} bytes`);
  // Lengths first: nothing larger than the limit is decoded or parsed.
  if (event.isBase64Encoded === true) {
    if (body.length > Math.ceil(MAX_BODY_BYTES / 3) * 4) throw tooLarge;
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length > MAX_BODY_BYTES) throw tooLarge;
    return bytes.toString('utf8');
  }
  if (body.length > MAX_BODY_BYTES || Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) throw tooLarge;
  return body;
}

interface Review {
  uid: string;
  operation: string | undefined;
  /** Set for InferenceModel and Deployment CREATE and UPDATE. */
  ref: { namespace: string | undefined; name: string | undefined } | undefined;
  kind: 'InferenceModel' | 'Deployment' | undefined;
  dryRun: boolean;
  /** Why the request part is unusable; answered as a denied review, since the uid can be echoed. */
  malformed: string | undefined;
  object: unknown;
  oldObject: unknown;
}

function parseReview(text: string): Review {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_request', 'The body is not valid JSON');
  }
  if (!isObject(value) || value.apiVersion !== ADMISSION_VERSION || value.kind !== 'AdmissionReview') {
    throw new ApiError(
      'invalid_request',
      `The body must be an ${ADMISSION_VERSION} AdmissionReview (set admissionReviewVersions: [v1])`,
    );
  }
  const request = value.request;
  if (!isObject(request)) throw new ApiError('invalid_request', 'The AdmissionReview has no request');
  const uid = request.uid;
  if (typeof uid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(uid)) {
    throw new ApiError(
      'invalid_request',
      "request.uid must be the request's UID (1-128 printable characters)",
    );
  }
  const review: Review = {
    uid,
    operation: undefined,
    ref: undefined,
    kind: undefined,
    dryRun: false,
    malformed: undefined,
    object: request.object,
    oldObject: request.oldObject,
  };
  const { operation, resource, subResource, dryRun, namespace, name } = request;
  if (typeof operation !== 'string' || !OPERATIONS.includes(operation)) {
    review.malformed = `request.operation must be one of ${OPERATIONS.join(', ')}`;
    return review;
  }
  review.operation = operation;
  if (
    !isObject(resource) ||
    typeof resource.group !== 'string' ||
    typeof resource.version !== 'string' ||
    typeof resource.resource !== 'string'
  ) {
    review.malformed = 'request.resource must be {group, version, resource} strings';
    return review;
  }
  for (const [key, given, type] of [
    ['subResource', subResource, 'string'],
    ['namespace', namespace, 'string'],
    ['name', name, 'string'],
    ['dryRun', dryRun, 'boolean'],
  ] as const) {
    if (given !== undefined && given !== null && typeof given !== type) {
      review.malformed = `request.${key} must be a ${type}`;
      return review;
    }
  }
  review.dryRun = dryRun === true;
  const kind =
    resource.group === API_GROUP && resource.resource === 'inferencemodels'
      ? 'InferenceModel'
      : resource.group === 'apps' && resource.resource === 'deployments'
        ? 'Deployment'
        : undefined;
  if (kind && !subResource && (operation === 'CREATE' || operation === 'UPDATE')) {
    review.kind = kind;
    review.ref = {
      namespace: metadataString(request.object, 'namespace') ?? (namespace as string | undefined),
      name: metadataString(request.object, 'name') ?? (name as string | undefined),
    };
  }
  return review;
}

// ---- the decision ----------------------------------------------------------------------------------

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
  patchType?: 'JSONPatch';
  patch?: string;
}

async function decide(review: Review, mode: Mode, ports: WebhookPorts): Promise<AdmissionResponse> {
  const { uid } = review;
  if (review.malformed) return deny(uid, 400, 'BadRequest', `malformed AdmissionReview: ${review.malformed}`);
  // Deletes, connects, subresources and other kinds are none of this webhook's business.
  if (!review.ref) return { uid, allowed: true };
  if (review.kind === 'Deployment') return decideWorkload(review, mode, ports);
  if (!isObject(review.object)) {
    return deny(
      uid,
      400,
      'BadRequest',
      'malformed AdmissionReview: request.object must be the InferenceModel',
    );
  }
  // Finalizer removal during deletion, and metadata-only updates (finalizers, labels), are never blocked.
  if (
    review.operation === 'UPDATE' &&
    (isBeingDeleted(review.object) || specUnchanged(review.object, review.oldObject))
  ) {
    return { uid, allowed: true };
  }
  const context = { namespace: review.ref.namespace, name: review.ref.name };
  const inspection = inspectInferenceModel(review.object, context);
  // The mutating call only fills in defaults and the finalizer: every denial comes from the validating
  // call, which the API server makes after its own schema validation (so a schema error reads as the CRD
  // words it).
  if (mode === 'mutate') {
    return { uid, allowed: true, ...patchOf([...inspection.patch, ...finalizerPatch(review)]) };
  }
  if (!inspection.demand) return deny(uid, 422, 'Invalid', inspection.messages.join('; '));

  const { demand } = inspection;
  const from = review.operation === 'UPDATE' ? poolOfObject(review.oldObject) : undefined;
  const moving = from !== undefined && from !== demand.pool;
  const admitted = dependencyNodeOf(review.object, demand.name ?? GENERATED_NAME);
  const old = review.operation === 'UPDATE' ? dependencyNodeOf(review.oldObject, admitted.name) : undefined;
  // Every read at once: the answer waits for the slowest, not for their sum.
  const [pool, fromPool, models] = await Promise.all([
    readPool(ports, demand.pool),
    moving ? readPool(ports, from) : undefined,
    mayCloseCycle(admitted, old) ? listModels(ports, demand.namespace) : undefined,
  ]);
  if (pool === UNREACHABLE || fromPool === UNREACHABLE) {
    return deny(uid, 503, 'ServiceUnavailable', 'budget ledger unreachable; retry');
  }
  const budget = checkBudget(demand, pool);
  const refusals = [...budget.messages, ...(moving ? checkPoolMove(demand, from, fromPool) : [])];
  if (refusals.length > 0) return deny(uid, 403, 'Forbidden', refusals.join('; '));
  const warnings = [...budget.warnings];
  if (models === UNREACHABLE) warnings.push(CYCLES_UNCHECKED);
  else if (models) {
    const cycle = closedCycle(models, admitted);
    if (cycle) return deny(uid, 422, 'Invalid', cycleMessage(cycle));
  }

  const { namespace, name } = demand;
  if (!review.dryRun && name !== undefined) await requestReconcile(ports, { namespace, name });
  return { uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) };
}

/** A create by generateName has no name yet: this one matches no dependency by name, as none can. */
const GENERATED_NAME = '(generated name)';
const UNREACHABLE = Symbol('unreachable');
const CYCLES_UNCHECKED =
  'dependencies not checked for cycles: the InferenceModels could not be listed; reapply to check';

/** The pool, undefined when the ledger has no such pool. */
async function readPool(
  ports: WebhookPorts,
  pool: string,
): Promise<PoolSnapshot | undefined | typeof UNREACHABLE> {
  try {
    return await within(DEADLINES_MS.ledger, 'ledger read', ports.readPool(pool));
  } catch (error) {
    if (error instanceof LedgerError && error.code === 'unknown_pool') return undefined;
    logger.error('Budget ledger unreachable', { pool, error: String(error) });
    return UNREACHABLE;
  }
}

async function listModels(
  ports: WebhookPorts,
  namespace: string,
): Promise<DependencyNode[] | typeof UNREACHABLE> {
  try {
    const models = await within(DEADLINES_MS.models, 'InferenceModel list', ports.listModels(namespace));
    return models.map((m) => ({
      name: m.name,
      modelName: m.spec.modelName,
      dependencies: m.spec.dependencies,
    }));
  } catch (error) {
    logger.warn('InferenceModels not listed: dependency cycles not checked', {
      namespace,
      error: String(error),
    });
    return UNREACHABLE;
  }
}

/** A Deployment declared as an MoE workload (docs/moe-workloads.md); undeclared ones always pass. */
async function decideWorkload(review: Review, mode: Mode, ports: WebhookPorts): Promise<AdmissionResponse> {
  const { uid } = review;
  if (mode === 'mutate') return { uid, allowed: true };
  const inspection = inspectWorkload(review.object, review.oldObject, review.operation ?? '');
  if (inspection.kind === 'allow') return { uid, allowed: true };
  if (inspection.kind === 'deny') return deny(uid, 422, 'Invalid', inspection.messages.join('; '));
  const { declaration } = inspection;
  let pool: PoolSnapshot | undefined;
  try {
    pool = await within(DEADLINES_MS.ledger, 'ledger read', ports.readPool(declaration.pool));
  } catch (error) {
    if (!(error instanceof LedgerError && error.code === 'unknown_pool')) {
      logger.error('Budget ledger unreachable', { pool: declaration.pool, error: String(error) });
      return deny(uid, 503, 'ServiceUnavailable', 'budget ledger unreachable; retry');
    }
  }
  const ref = { namespace: review.ref?.namespace ?? '', name: review.ref?.name };
  const budget = checkWorkloadBudget(ref, declaration, pool);
  if (budget.messages.length > 0) return deny(uid, 403, 'Forbidden', budget.messages.join('; '));
  return {
    uid,
    allowed: true,
    ...(budget.warnings.length > 0 ? { warnings: budget.warnings.map(asWarning) } : {}),
  };
}

/** Warnings are shown by kubectl as they are; keep them to one line of printable text. */
function asWarning(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, ' ').slice(0, 500);
}

/** Asks for a reconcile now, so the change applies in seconds; the scheduled pass is the fallback. */
async function requestReconcile(ports: WebhookPorts, ref: ModelRef): Promise<void> {
  try {
    await within(DEADLINES_MS.events, 'reconcile event', ports.reconcileRequests.request(ref));
  } catch (error) {
    logger.warn('Reconcile event not sent; the scheduled pass will apply the change', {
      namespace: ref.namespace,
      model: ref.name,
      error: String(error),
    });
  }
}

/**
 * A new model carries the control plane's finalizer from its creation, so that its first reconcile does
 * not spend a Kubernetes call adding it (the reconciler still adds it to a model created without).
 */
function finalizerPatch(review: Review): JsonPatchOperation[] {
  if (review.operation !== 'CREATE') return [];
  const metadata = isObject(review.object) ? review.object.metadata : undefined;
  const finalizers = isObject(metadata) ? metadata.finalizers : undefined;
  if (!Array.isArray(finalizers)) return [{ op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }];
  return finalizers.includes(FINALIZER)
    ? []
    : [{ op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }];
}

function deny(uid: string, code: number, reason: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason, message } };
}

function patchOf(patch: JsonPatchOperation[]): Pick<AdmissionResponse, 'patch' | 'patchType'> {
  if (patch.length === 0) return {};
  return { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

// ---- helpers ---------------------------------------------------------------------------------------

/**
 * Whether the path's secret is one accepted now. A secret that cannot be loaded accepts nothing: the
 * answer is the 404 of any unknown path, never a 500 that would tell a prober something is there.
 */
async function knownSecret(ports: WebhookPorts, given: string): Promise<boolean> {
  let accepted: string[];
  try {
    accepted = await within(DEADLINES_MS.secret, 'secret', ports.secrets());
  } catch (error) {
    logger.error('Webhook secret could not be loaded', {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return false;
  }
  // Every candidate is compared, so the time taken does not say which one matched.
  return accepted.map((secret) => sameSecret(given, secret)).some(Boolean);
}

/** Compares digests so that neither the content nor the length of the secret leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const headers: unknown = event.headers;
  if (!isObject(headers)) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : undefined;
}

function metadataString(object: unknown, key: string): string | undefined {
  const metadata = isObject(object) ? object.metadata : undefined;
  const value = isObject(metadata) && Object.hasOwn(metadata, key) ? metadata[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
