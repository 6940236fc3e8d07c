import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { runtimeConfig, type RuntimeConfig } from '../config.js';
import { ApiError } from '../core/api/errors.js';
import { parseRequest } from '../core/api/routes.js';
import {
  answerClusterRequest,
  answerUsage,
  boundedWaitSeconds,
  checkServedCluster,
  type Fleet,
  ModelCache,
  type ApiAnswer,
  type UsageSources,
} from '../core/warmup/api.js';
import type { WarmUpPorts } from '../core/warmup/warm-up.js';
import { logger } from './logger.js';
import { fleet, usageSources, warmUpPorts } from './wiring/warmup-api.js';

/**
 * The warm-up API behind API Gateway (REST proxy integration, IAM auth); its answers are
 * core/warmup/api. `config` is read and wired at the first request that needs it.
 */
export function createWarmUpApiHandler(config: () => RuntimeConfig) {
  let ports: (() => Promise<WarmUpPorts>) | undefined;
  let usage: UsageSources | undefined;
  let clusters: Fleet | undefined;
  const models = new ModelCache();
  return middy(async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    try {
      const request = parseRequest({
        method: event.httpMethod,
        path: event.path,
        query: event.queryStringParameters,
        body:
          event.isBase64Encoded && event.body
            ? Buffer.from(event.body, 'base64').toString('utf8')
            : event.body,
      });
      clusters ??= fleet(config());
      checkServedCluster(request.cluster, clusters);
      if (request.operation === 'getUsage') {
        return http(await answerUsage(() => (usage ??= usageSources(config())), request.since, Date.now()));
      }
      const waitSeconds = boundedWaitSeconds(request.waitSeconds, context.getRemainingTimeInMillis());
      ports ??= warmUpPorts(config());
      const clusterRequest = { ...request, operation: request.operation, waitSeconds };
      return http(await answerClusterRequest(await ports(), clusterRequest, models, clusters));
    } catch (error) {
      if (error instanceof ApiError)
        return http({ status: error.status, body: error.body, headers: error.headers });
      logger.error('Warm-up API request failed', { path: event.path, error: String(error) });
      const failure = new ApiError('internal_error', 'The control plane failed to answer; retry later');
      return http({ status: failure.status, body: failure.body });
    }
  }).use(injectLambdaContext(logger));
}

/** The Lambda's entry point: settings from the environment. */
export const handler = createWarmUpApiHandler(() => runtimeConfig());

function http({ status, body, headers = {} }: ApiAnswer): APIGatewayProxyResult {
  if (body === undefined) return { statusCode: status, headers: {}, body: '' };
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
