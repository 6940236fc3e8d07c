import './source-mapped-stacks.js';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { webhookConfig, type WebhookConfig } from '../config.js';
import { ApiError } from '../core/api/errors.js';
import { answerWebhook, type WebhookPorts } from '../core/admission/webhook.js';
import { logger } from './logger.js';
import { webhookPorts } from './composition-root/webhook-ports.js';

/**
 * The InferenceModel admission webhook behind API Gateway (REST, proxy integration); docs/webhook.md.
 * The review is parsed and decided in core/admission; this adds the ports and the HTTP answer.
 */
export function createWebhookHandler(
  config?: WebhookConfig | (() => WebhookConfig),
  clock: () => number = Date.now,
) {
  let ports: WebhookPorts | undefined;
  const portsNow = (): WebhookPorts =>
    (ports ??= webhookPorts(typeof config === 'function' ? config() : (config ?? webhookConfig()), clock));
  return middy(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    try {
      const request = {
        path: event?.path,
        httpMethod: event?.httpMethod,
        headers: event?.headers,
        body: event?.body,
        isBase64Encoded: event?.isBase64Encoded,
      };
      return json(200, await answerWebhook(request, portsNow, Date.now));
    } catch (error) {
      if (error instanceof ApiError) return json(error.status, error.body, error.headers);
      logger.error('Admission webhook failed', { error: String(error) });
      const failure = new ApiError('internal_error', 'The admission webhook failed to answer; retry later');
      return json(failure.status, failure.body);
    }
    // The event is never logged, whatever POWERTOOLS_LOGGER_LOG_EVENT says: its path is the secret.
  }).use(injectLambdaContext(logger, { logEvent: false }));
}

/** The Lambda's entry point: settings from the environment, read at the first request. */
export const handler = createWebhookHandler();

function json(status: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
