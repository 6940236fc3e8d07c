import {
  AuthorizationType,
  LambdaIntegration,
  type IResource,
  type RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CLUSTER_PREFIX, ROUTES } from '../lambdas/core/api/routes.js';
import { controlPlaneRestApi } from './api-gateway-defaults.js';
import { acknowledge } from './nag-acknowledgements.js';

/** Requests per second (and burst) the stage admits before answering 429 `rate_limited`. */
export const WARM_UP_THROTTLE = { rateLimit: 100, burstLimit: 200 };

export interface WarmUpRestApiProps {
  /** Answers the routes without a cluster: the first (or only) cluster's warm-up Lambda. */
  handler: IFunction;
  /** Each governed cluster's warm-up Lambda, answering `/v1/clusters/<its name>/...`. */
  clusters: { name: string; handler: IFunction }[];
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
    const { api, accessLogs, validator } = controlPlaneRestApi(this, {
      description: 'Inference budget warm-up API (IAM auth)',
      stageName: 'api',
      throttle: WARM_UP_THROTTLE,
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      ...(props.logRetention && { logRetention: props.logRetention }),
    });
    this.api = api;
    this.accessLogs = accessLogs;
    acknowledge(
      this.api,
      'Callers are AWS workloads and people with AWS credentials: every method uses IAM (SigV4) auth, not Cognito.',
      'COG4',
    );
    const add = (path: string, query: readonly string[], method: string, integration: LambdaIntegration) => {
      const resource = path
        .split('/')
        .filter(Boolean)
        .reduce<IResource>(
          (parent, part) => parent.getResource(part) ?? parent.addResource(part),
          this.api.root,
        );
      const pathParameters = [...path.matchAll(/\{([a-z]+)\}/g)].map(([, name]) => name!);
      resource.addMethod(method, integration, {
        requestValidator: validator,
        requestParameters: Object.fromEntries([
          ...pathParameters.map((name) => [`method.request.path.${name}`, true]),
          ...query.map((name) => [`method.request.querystring.${name}`, false]),
        ]),
      });
    };
    const integration = new LambdaIntegration(props.handler, { allowTestInvoke: false });
    // A route by cluster is a resource per cluster (`/v1/clusters/<name>/...`) integrated with that
    // cluster's own Lambda: an unknown cluster is API Gateway's 404, a slow cluster never holds another's.
    for (const route of ROUTES.filter((route) => !route.path.startsWith(CLUSTER_PREFIX))) {
      add(route.path, route.query, route.method, integration);
    }
    for (const cluster of props.clusters) {
      const own =
        cluster.handler === props.handler
          ? integration
          : new LambdaIntegration(cluster.handler, { allowTestInvoke: false });
      for (const route of ROUTES.filter((route) => route.path.startsWith(CLUSTER_PREFIX))) {
        add(route.path.replace('{cluster}', cluster.name), route.query, route.method, own);
      }
    }
  }
}
