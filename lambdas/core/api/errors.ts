/**
 * The original operator's error envelope (SPEC.md): every error answer of the APIs has this shape.
 * `type` groups errors the way OpenAI-style clients expect; `code` is the precise reason.
 */
export interface ErrorEnvelope {
  error: {
    type: string;
    code: ApiErrorCode;
    message: string;
    details?: Record<string, unknown>;
  };
}

export type ApiErrorCode =
  | 'invalid_request'
  | 'model_not_found'
  | 'insufficient_memory'
  | 'model_not_ready'
  | 'scale_up_failed'
  | 'method_not_allowed'
  | 'not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  /** API Gateway refused the caller's SigV4 credentials (answered by the gateway, not the handler). */
  | 'unauthorized'
  /** API Gateway's stage throttle. */
  | 'rate_limited'
  | 'internal_error';

const STATUS_AND_TYPE: Record<ApiErrorCode, [number, string]> = {
  invalid_request: [400, 'invalid_request_error'],
  model_not_found: [404, 'invalid_request_error'],
  not_found: [404, 'invalid_request_error'],
  method_not_allowed: [405, 'invalid_request_error'],
  payload_too_large: [413, 'invalid_request_error'],
  unsupported_media_type: [415, 'invalid_request_error'],
  unauthorized: [403, 'authentication_error'],
  rate_limited: [429, 'rate_limit_error'],
  insufficient_memory: [429, 'insufficient_memory'],
  scale_up_failed: [500, 'server_error'],
  model_not_ready: [503, 'server_error'],
  internal_error: [500, 'server_error'],
};

/** The envelope's `type` for a code. */
export function errorType(code: ApiErrorCode): string {
  return STATUS_AND_TYPE[code][1];
}

/** An error answer: its HTTP status and its body in the envelope. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: ErrorEnvelope;

  constructor(
    code: ApiErrorCode,
    message: string,
    details?: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    const [status, type] = STATUS_AND_TYPE[code];
    this.status = status;
    this.body = { error: { type, code, message, ...(details ? { details } : {}) } };
  }
}
