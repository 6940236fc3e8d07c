import { validateHolder } from '../ledger/rules.js';
import type { ModelRef } from '../inference-model.js';
import { ApiError } from './errors.js';

/** The warm-up API's routes; docs/openapi.yaml describes exactly these (a test keeps them in step). */
export const ROUTES = [
  { method: 'POST', path: '/v1/models/{namespace}/{name}/warmup', operation: 'warmUp', query: ['wait'] },
  { method: 'POST', path: '/v1/models/{namespace}/{name}/activity', operation: 'recordActivity', query: [] },
  { method: 'GET', path: '/v1/models/{namespace}/{name}', operation: 'getModel', query: [] },
  { method: 'GET', path: '/v1/models', operation: 'listModels', query: [] },
  { method: 'GET', path: '/v1/pools', operation: 'listPools', query: [] },
  { method: 'GET', path: '/v1/usage', operation: 'getUsage', query: ['since'] },
] as const;

export type Operation = (typeof ROUTES)[number]['operation'];

export interface ApiRequest {
  method: string;
  path: string;
  query: Record<string, string | undefined> | null;
  body: string | null;
}

export interface ParsedRequest {
  operation: Operation;
  model: ModelRef | undefined;
  waitSeconds: number;
  /** `GET /v1/usage?since=`, read against the clock by `usageSince` (lambdas/core/economics/usage.ts). */
  since: string | undefined;
}

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_WAIT_SECONDS = 25;

const compiled = ROUTES.map((route) => ({
  ...route,
  pattern: new RegExp(`^${route.path.replace(/\{[a-z]+\}/g, '([^/]+)')}/?$`),
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
  const [, namespace, name] = route.pattern.exec(request.path) ?? [];
  return {
    operation: route.operation,
    model: namespace !== undefined && name !== undefined ? modelRef(namespace, name) : undefined,
    waitSeconds: waitSeconds(request.query?.wait),
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

function printablePath(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}
