import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestValidator,
  RestApi,
  type IResource,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES } from '../lambdas/core/api/routes.js';
import {
  ACCESS_LOG_FORMAT,
  acknowledgeApiFindings,
  answerGatewayErrorsInEnvelope,
} from './api-gateway-defaults.js';
import { acknowledge } from './nag-acknowledgements.js';

/** Requests per second (and burst) the stage admits before answering 429 `rate_limited`. */
export const WARM_UP_THROTTLE = { rateLimit: 100, burstLimit: 200 };

export interface WarmUpRestApiProps {
  handler: IFunction;
  logRetention?: RetentionDays;
}

/**
 * The warm-up API (docs/warmup-api.md): a regional REST API whose resources are exactly the handler's
 * route table, every method behind IAM (SigV4) auth, with declared path and query parameters validated
 * by API Gateway before the Lambda runs, a stage throttle, X-Ray and JSON access logs.
 */
export class WarmUpRestApi extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: WarmUpRestApiProps) {
    super(scope, id);
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new RestApi(this, 'Api', {
      description: 'Inference budget warm-up API (IAM auth)',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'api',
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: ACCESS_LOG_FORMAT,
        throttlingRateLimit: WARM_UP_THROTTLE.rateLimit,
        throttlingBurstLimit: WARM_UP_THROTTLE.burstLimit,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.OFF,
      },
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
    });
    answerGatewayErrorsInEnvelope(this.api);
    acknowledgeApiFindings(this.api);
    acknowledge(
      this.api,
      'Callers are AWS workloads and people with AWS credentials: every method uses IAM (SigV4) auth, not Cognito.',
      'COG4',
    );

    const validator = new RequestValidator(this, 'Parameters', {
      restApi: this.api,
      validateRequestParameters: true,
      // Bodies are checked by the handler: empty or `{}`, which a JSON schema model cannot say for an
      // empty body.
      validateRequestBody: false,
    });
    const integration = new LambdaIntegration(props.handler, { allowTestInvoke: false });
    for (const route of ROUTES) {
      const resource = route.path
        .split('/')
        .filter(Boolean)
        .reduce<IResource>(
          (parent, part) => parent.getResource(part) ?? parent.addResource(part),
          this.api.root,
        );
      const pathParameters = [...route.path.matchAll(/\{([a-z]+)\}/g)].map(([, name]) => name!);
      resource.addMethod(route.method, integration, {
        requestValidator: validator,
        requestParameters: Object.fromEntries([
          ...pathParameters.map((name) => [`method.request.path.${name}`, true]),
          ...route.query.map((name) => [`method.request.querystring.${name}`, false]),
        ]),
      });
    }
  }
}
