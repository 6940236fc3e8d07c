import { AuthorizationType, LambdaIntegration, type RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { controlPlaneRestApi } from './api-gateway-defaults.js';
import { acknowledge } from './nag-acknowledgements.js';

/** The API server calls the webhook once per admitted change; this is far above any real rate. */
export const WEBHOOK_THROTTLE = { rateLimit: 50, burstLimit: 100 };

export interface AdmissionWebhookEndpointProps {
  handler: IFunction;
  logRetention?: RetentionDays;
}

/**
 * The admission webhook's HTTPS endpoint (docs/webhook.md). The API server cannot sign requests, so the
 * methods have no IAM auth: the handler authenticates the secret path segment, and answers every other
 * path exactly as it answers an unknown one. Everything under `/webhook/` reaches it, so the handler alone
 * decides which paths exist.
 */
export class AdmissionWebhookEndpoint extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: AdmissionWebhookEndpointProps) {
    super(scope, id);
    const { api, accessLogs, validator } = controlPlaneRestApi(this, {
      description: 'Inference budget admission webhook (secret path, called by the Kubernetes API server)',
      stageName: 'admission',
      throttle: WEBHOOK_THROTTLE,
      ...(props.logRetention && { logRetention: props.logRetention }),
    });
    this.api = api;
    // Its access logs record the route template only: the path holds the secret.
    this.accessLogs = accessLogs;
    const method = this.api.root
      .addResource('webhook')
      .addResource('{proxy+}')
      .addMethod('POST', new LambdaIntegration(props.handler, { allowTestInvoke: false }), {
        authorizationType: AuthorizationType.NONE,
        requestValidator: validator,
        requestParameters: { 'method.request.path.proxy': true },
      });
    acknowledge(
      method,
      'The Kubernetes API server cannot sign requests or fetch tokens for a webhook: the handler authenticates the secret path segment (docs/webhook.md).',
      'APIG4',
      'COG4',
    );
  }
}
