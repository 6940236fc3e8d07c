import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../api/errors.js';
import { decide, DEADLINES_MS, within, type AdmissionPorts } from './decide.js';
import { isObject } from '../json.js';
import { ADMISSION_VERSION, parseReview, reviewBody, type Mode } from './review.js';

/**
 * The webhook's HTTP contract (docs/webhook.md): `POST /webhook/{secret}` validates (the
 * ValidatingWebhookConfiguration's URL) and `POST /webhook/{secret}/mutate` only adds missing defaults
 * (the MutatingWebhookConfiguration's): the API server refuses a patch from a validating webhook, so the
 * two are told apart by path. The secret path segment is the authentication; a wrong one is a 404, as for
 * any unknown path. Bad input is an ApiError (a 4xx), never a 5xx, and never touches the ledger.
 */

const ROUTE = /^\/webhook\/([^/]+)(\/mutate)?$/;

/** The parts of an API Gateway proxy event the webhook reads; each is checked, none trusted. */
export interface WebhookRequest {
  path: unknown;
  httpMethod: unknown;
  headers: unknown;
  body: unknown;
  isBase64Encoded: unknown;
}

export interface WebhookPorts extends AdmissionPorts {
  /** The path secrets accepted now: the current one, and the previous one during its grace window. */
  secrets(): Promise<string[]>;
}

/** The AdmissionReview to answer with (status 200), or an ApiError. `portsNow` is called only for a webhook path. */
export async function answerWebhook(
  request: WebhookRequest,
  portsNow: () => WebhookPorts,
  clock: () => number,
): Promise<unknown> {
  // The path holds the secret: it is never logged, and a wrong one looks like any unknown path.
  const route = typeof request.path === 'string' ? ROUTE.exec(request.path) : null;
  const ports = route ? portsNow() : undefined;
  if (!route || !ports || !(await knownSecret(ports, route[1]!))) {
    throw new ApiError('not_found', 'Not found');
  }
  const mode: Mode = route[2] ? 'mutate' : 'validate';
  if (request.httpMethod !== 'POST') {
    throw new ApiError(
      'method_not_allowed',
      'Only POST is allowed here',
      { allowed: ['POST'] },
      { Allow: 'POST' },
    );
  }
  const contentType = header(request.headers, 'content-type');
  if (contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    throw new ApiError('unsupported_media_type', 'Send the AdmissionReview as application/json');
  }
  const review = parseReview(reviewBody(request.body, request.isBase64Encoded));
  const started = clock();
  const response = await decide(review, mode, ports);
  ports.log.info('Admission review', {
    mode,
    operation: review.operation,
    kind: review.kind,
    namespace: review.ref?.namespace,
    model: review.ref?.name,
    dryRun: review.dryRun,
    allowed: response.allowed,
    code: response.status?.code,
    durationMs: clock() - started,
  });
  return { apiVersion: ADMISSION_VERSION, kind: 'AdmissionReview', response };
}

/**
 * Whether the path's secret is one accepted now. A secret that cannot be loaded accepts nothing: the
 * answer is the 404 of any unknown path, never a 500 that would tell a prober something is there.
 */
async function knownSecret(ports: WebhookPorts, given: string): Promise<boolean> {
  let accepted: string[];
  try {
    accepted = await within(DEADLINES_MS.secret, 'secret', ports.secrets());
  } catch (error) {
    ports.log.error('Webhook secret could not be loaded', {
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

function header(headers: unknown, name: string): string | undefined {
  if (!isObject(headers)) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : undefined;
}
