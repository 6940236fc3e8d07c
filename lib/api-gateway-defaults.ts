import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  type EndpointConfiguration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestValidator,
  ResponseType,
  RestApi,
  type MethodOptions,
} from 'aws-cdk-lib/aws-apigateway';
import type { PolicyDocument } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag-acknowledgements.js';
import { errorType, type ApiErrorCode } from '../lambdas/core/api/errors.js';

/**
 * Access log lines as JSON. `$context.resourcePath` (the route template), never `$context.path`: the
 * webhook's path carries its secret (docs/webhook.md).
 */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    caller: '$context.identity.caller',
    user: '$context.identity.userArn',
    method: '$context.httpMethod',
    resourcePath: '$context.resourcePath',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationLatencyMs: '$context.integrationLatency',
    error: '$context.error.message',
  }),
);

/** The answers API Gateway gives itself, before the handler runs, mapped to the error codes clients know. */
const GATEWAY_ERRORS: [ResponseType, ApiErrorCode][] = [
  [ResponseType.BAD_REQUEST_PARAMETERS, 'invalid_request'],
  [ResponseType.BAD_REQUEST_BODY, 'invalid_request'],
  [ResponseType.REQUEST_TOO_LARGE, 'payload_too_large'],
  [ResponseType.UNSUPPORTED_MEDIA_TYPE, 'unsupported_media_type'],
  [ResponseType.MISSING_AUTHENTICATION_TOKEN, 'unauthorized'],
  [ResponseType.INVALID_SIGNATURE, 'unauthorized'],
  [ResponseType.EXPIRED_TOKEN, 'unauthorized'],
  [ResponseType.ACCESS_DENIED, 'unauthorized'],
  [ResponseType.THROTTLED, 'rate_limited'],
  [ResponseType.DEFAULT_4XX, 'invalid_request'],
  [ResponseType.DEFAULT_5XX, 'internal_error'],
];

/**
 * Every error API Gateway answers by itself uses the handler's envelope (docs/warmup-api.md), keeping the
 * gateway's own status code and message.
 */
function answerGatewayErrorsInEnvelope(api: RestApi): void {
  for (const [type, code] of GATEWAY_ERRORS) {
    api.addGatewayResponse(`Envelope${type.responseType}`, {
      type,
      templates: {
        'application/json': `{"error":{"type":"${errorType(code)}","code":"${code}","message":$context.error.messageString}}`,
      },
    });
  }
}

/** The cdk-nag findings both APIs share, reviewed and accepted (docs/deploy.md). */
function acknowledgeApiFindings(api: RestApi): void {
  acknowledge(
    api,
    'API Gateway validates path and query parameters; bodies (which must be empty or `{}`, or an AdmissionReview) are validated by the handler, as an empty body has no request model.',
    'APIG2',
  );
  acknowledge(
    api.deploymentStage,
    'Execution logging needs the account-wide API Gateway CloudWatch role, which this stack does not own; JSON access logs are on.',
    'APIG6',
  );
  acknowledge(
    api.deploymentStage,
    'The warm-up API is guarded by IAM auth and stage throttling; the webhook by its private endpoint (default) or, when public, by a web ACL with a rate-based rule (docs/security.md).',
    'APIG3',
  );
}

export interface ControlPlaneRestApiProps {
  /** The API's name, which its CloudWatch metrics are keyed by (`ApiName`); default the construct id. */
  name?: string;
  description: string;
  stageName: string;
  throttle: { rateLimit: number; burstLimit: number };
  defaultMethodOptions?: MethodOptions;
  logRetention?: RetentionDays;
  /** Default: regional. */
  endpointConfiguration?: EndpointConfiguration;
  /** The API's resource policy; default none. */
  policy?: PolicyDocument;
  /** X-Ray traces of the stage; default on. They record each request's full URL. */
  tracing?: boolean;
}

/**
 * A REST API as both of the control plane's are: JSON access logs (`AccessLogs`), a throttled stage with
 * metrics (and X-Ray unless turned off), errors in the envelope, the shared cdk-nag acknowledgements, and a
 * validator of declared parameters (bodies are the handlers' to check).
 */
export function controlPlaneRestApi(
  scope: Construct,
  props: ControlPlaneRestApiProps,
): { api: RestApi; accessLogs: LogGroup; validator: RequestValidator } {
  const accessLogs = new LogGroup(scope, 'AccessLogs', {
    retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const api = new RestApi(scope, 'Api', {
    ...(props.name && { restApiName: props.name }),
    description: props.description,
    endpointConfiguration: props.endpointConfiguration ?? { types: [EndpointType.REGIONAL] },
    ...(props.policy && { policy: props.policy }),
    // Execution logs would need the account-wide API Gateway role; access logs are enough here.
    cloudWatchRole: false,
    deployOptions: {
      stageName: props.stageName,
      accessLogDestination: new LogGroupLogDestination(accessLogs),
      accessLogFormat: ACCESS_LOG_FORMAT,
      throttlingRateLimit: props.throttle.rateLimit,
      throttlingBurstLimit: props.throttle.burstLimit,
      tracingEnabled: props.tracing ?? true,
      metricsEnabled: true,
      loggingLevel: MethodLoggingLevel.OFF,
    },
    ...(props.defaultMethodOptions && { defaultMethodOptions: props.defaultMethodOptions }),
  });
  answerGatewayErrorsInEnvelope(api);
  acknowledgeApiFindings(api);
  const validator = new RequestValidator(scope, 'Parameters', {
    restApi: api,
    validateRequestParameters: true,
    validateRequestBody: false,
  });
  return { api, accessLogs, validator };
}
