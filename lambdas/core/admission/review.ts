import { ApiError } from '../api/errors.js';
import { API_GROUP } from '../inference-model.js';
import { isObject } from '../json.js';

/**
 * An AdmissionReview as the API server sends it, checked field by field. Anything not worth a review at
 * all is an ApiError (the webhook's 4xx); a request part that is unusable but carries a uid is kept as
 * `malformed`, so the answer can be a denied review the API server shows to the user.
 */

export const MAX_BODY_BYTES = 1024 * 1024;
export const ADMISSION_VERSION = 'admission.k8s.io/v1';
const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

/** `validate`: the ValidatingWebhookConfiguration's call; `mutate`: the Mutating one's (defaults only). */
export type Mode = 'validate' | 'mutate';

export interface Review {
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

/** The body as text, refused by its length before anything larger than the limit is decoded or parsed. */
export function reviewBody(body: unknown, isBase64Encoded: unknown): string {
  if (typeof body !== 'string' || body === '') {
    throw new ApiError('invalid_request', 'The body must be an AdmissionReview (JSON)');
  }
  const tooLarge = new ApiError('payload_too_large', `The body is larger than ${MAX_BODY_BYTES} bytes`);
  if (isBase64Encoded === true) {
    if (body.length > Math.ceil(MAX_BODY_BYTES / 3) * 4) throw tooLarge;
    const bytes = Buffer.from(body, 'base64');
    if (bytes.length > MAX_BODY_BYTES) throw tooLarge;
    return bytes.toString('utf8');
  }
  if (body.length > MAX_BODY_BYTES || Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) throw tooLarge;
  return body;
}

export function parseReview(text: string): Review {
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

function metadataString(object: unknown, key: string): string | undefined {
  const metadata = isObject(object) ? object.metadata : undefined;
  const value = isObject(metadata) && Object.hasOwn(metadata, key) ? metadata[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}
