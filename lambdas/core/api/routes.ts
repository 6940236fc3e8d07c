import { CLUSTER_NAME_PATTERN } from '../clusters.js';
import { validateHolder } from '../ledger/rules.js';
import type { ModelRef } from '../inference-model.js';
import { ApiError } from './errors.js';

/** The routes a cluster's own warm-up Lambda answers, also under `/v1/clusters/{cluster}`. */
const CLUSTER_ROUTES = [
  {
    method: 'POST',
    path: '/v1/models/{namespace}/{name}/warmup',
    operation: 'warmUp',
    query: ['wait', 'queue'],
  },
  { method: 'POST', path: '/v1/models/{namespace}/{name}/activity', operation: 'recordActivity', query: [] },
  { method: 'GET', path: '/v1/models/{namespace}/{name}', operation: 'getModel', query: [] },
  { method: 'GET', path: '/v1/models', operation: 'listModels', query: [] },
  { method: 'GET', path: '/v1/usage', operation: 'getUsage', query: ['since'] },
] as const;

/** Where the routes that address a cluster start (`/v1/clusters/{cluster}/models/...`). */
export const CLUSTER_PREFIX = '/v1/clusters/{cluster}';

export type Operation = (typeof CLUSTER_ROUTES)[number]['operation'] | 'listPools';

export interface Route {
  readonly method: string;
  readonly path: string;
  /** What the handler does; a route by cluster does what its single-cluster route does. */
  readonly operation: Operation;
  /** Its `operationId` in docs/openapi.yaml. */
  readonly operationId: string;
  readonly query: readonly string[];
}

/**
 * The warm-up API's routes; docs/openapi.yaml describes exactly these (a test keeps them in step). Every
 * model route (and usage) also exists under `/v1/clusters/{cluster}`: the cluster's own warm-up Lambda
 * answers it, and a single-cluster deployment serves both forms. `GET /v1/pools` covers every cluster.
 */
export const ROUTES: readonly Route[] = [
  ...CLUSTER_ROUTES.map((route) => ({ ...route, operationId: route.operation })),
  ...CLUSTER_ROUTES.map((route) => ({
    ...route,
    path: route.path.replace(/^\/v1/, CLUSTER_PREFIX),
    operationId: `${route.operation}InCluster`,
  })),
  { method: 'GET', path: '/v1/pools', operation: 'listPools', operationId: 'listPools', query: [] },
];

export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined> | null;
  body: string | null;
}

export interface ParsedRequest {
  operation: Operation;
  /** The cluster a `/v1/clusters/{cluster}/...` route names; the handler checks it is its own. */
  cluster: string | undefined;
  model: ModelRef | undefined;
  waitSeconds: number;
  /** `?queue=true|false` of a warm-up: wait in line when the pool is full; unset, the pool's default. */
  queue: boolean | undefined;
  /** `GET /v1/usage?since=`, read against the clock by `usageSince` (lambdas/core/economics/usage.ts). */
  since: string | undefined;
}

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_WAIT_SECONDS = 25;

const compiled = ROUTES.map((route) => ({
  ...route,
  pattern: new RegExp(`^${route.path.replace(/\{([a-z]+)\}/g, '(?<$1>[^/]+)')}/?$`),
}));

/** Matches a request to a route and checks everything about it that does not need the cluster. */
export function parseRequest(request: ApiRequest): ParsedRequest {
  const matching = compiled.filter((route) => route.pattern.test(request.path));
  if (matching.length === 0) throw new ApiError('not_found', `No route for ${printablePath(request.path)}`);
  const route = matching.find((r) => r.method === request.method);
  if (!route) {
    throw new ApiError(
      'method_not_allowed',
      `${request.method} is not allowed on ${printablePath(request.path)}`,
      {
        allowed: matching.map((r) => r.method),
      },
    );
  }
  checkBody(request.body);
  const query = Object.entries(request.query ?? {});
  const unknown = query
    .filter(([key]) => !(route.query as readonly string[]).includes(key))
    .map(([key]) => key);
  if (unknown.length > 0) {
    throw new ApiError(
      'invalid_request',
      `Unknown query parameter(s): ${unknown.map(printablePath).join(', ')}`,
    );
  }
  const { cluster, namespace, name } = route.pattern.exec(request.path)?.groups ?? {};
  return {
    operation: route.operation,
    cluster: cluster === undefined ? undefined : clusterName(cluster),
    model: namespace !== undefined && name !== undefined ? modelRef(namespace, name) : undefined,
    waitSeconds: waitSeconds(request.query?.wait),
    queue: queueFlag(request.query?.queue),
    since: request.query?.since,
  };
}

/** The POST routes take no body: an empty one or `{}` is accepted so simple clients need not special-case. */
function checkBody(body: string | null): void {
  if (body === null || body.trim() === '') return;
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
    throw new ApiError(
      'payload_too_large',
      `The body is over ${MAX_BODY_BYTES} bytes; this API takes no body`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new ApiError('invalid_request', 'The body is not valid JSON; this API takes no body (or {})');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    Object.keys(parsed).length > 0
  ) {
    throw new ApiError('invalid_request', 'This API takes no body (or an empty JSON object {})');
  }
}

function modelRef(rawNamespace: string, rawName: string): ModelRef {
  let namespace: string;
  let name: string;
  try {
    namespace = decodeURIComponent(rawNamespace);
    name = decodeURIComponent(rawName);
  } catch {
    throw new ApiError('invalid_request', 'The model path is not valid percent-encoding');
  }
  try {
    validateHolder(`${namespace}/${name}`);
  } catch {
    throw new ApiError(
      'invalid_request',
      `"${printablePath(namespace)}/${printablePath(name)}" is not a model: use /v1/models/{namespace}/{name} with Kubernetes names`,
    );
  }
  return { namespace, name };
}

function clusterName(raw: string): string {
  if (!CLUSTER_NAME_PATTERN.test(raw)) {
    throw new ApiError(
      'invalid_request',
      `"${printablePath(raw)}" is not a cluster name: use /v1/clusters/{cluster}/models/... with an EKS cluster name`,
    );
  }
  return raw;
}

function waitSeconds(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > MAX_WAIT_SECONDS) {
    throw new ApiError(
      'invalid_request',
      `wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`,
    );
  }
  return Number(raw);
}

function queueFlag(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw new ApiError('invalid_request', 'queue must be true or false');
  return raw === 'true';
}

function printablePath(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
