import { Stack } from 'aws-cdk-lib';
import {
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  type IResource,
  type RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import {
  InterfaceVpcEndpoint,
  InterfaceVpcEndpointAwsService,
  Peer,
  Port,
  SecurityGroup,
  type ISubnet,
  type IVpc,
} from 'aws-cdk-lib/aws-ec2';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { controlPlaneRestApi } from './api-gateway-defaults.js';
import { acknowledge } from './nag-acknowledgements.js';

/** The API server calls the webhook once per admitted change; this is far above any real rate. */
export const WEBHOOK_THROTTLE = { rateLimit: 50, burstLimit: 100 };
/** Public endpoint only: requests per source IP per minute before WAF blocks that IP (10 a second). */
export const WEBHOOK_RATE_LIMIT_PER_MINUTE = 600;
/** The name of the web ACL's rate-based rule, and of its CloudWatch metric. */
export const WEBHOOK_RATE_RULE = 'WebhookRateLimitPerSourceIp';

export type WebhookAccess =
  | {
      type: 'private';
      /** The cluster's VPC and the private subnets the endpoint's network interfaces go in. */
      vpc: IVpc;
      subnets: ISubnet[];
      /** The cluster security group: the EKS control plane's network interfaces carry it. */
      clusterSecurityGroupId: string;
    }
  | { type: 'public' };

export interface AdmissionWebhookEndpointProps {
  handler: IFunction;
  access: WebhookAccess;
  /** With several clusters, the cluster it serves: its API and web ACL names carry it. */
  cluster?: string;
  logRetention?: RetentionDays;
}

/**
 * The admission webhook's HTTPS endpoint (docs/webhook.md, docs/security.md). The API server cannot sign
 * requests, so the methods have no IAM auth and the handler authenticates the secret path segment.
 *
 * Private (default): a private API whose resource policy admits only the execute-api VPC endpoint made
 * here, in the cluster's VPC, open on 443 to the cluster security group alone; nothing on the internet can
 * reach it, let alone exhaust its throttle. Public (opt-in): a regional API with a WAF rate-based rule per
 * source IP in front of the stage throttle.
 *
 * Only `POST /webhook/{secret}` and `POST /webhook/{secret}/mutate` exist: any other path or method is
 * answered by API Gateway itself and never invokes the Lambda. The stage is not traced with X-Ray, and
 * WAF keeps no sampled requests, because both would record the path, which is the secret.
 */
export class AdmissionWebhookEndpoint extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;
  /** `<baseUrl>webhook/<secret>` is the URL the webhook configurations call. */
  readonly baseUrl: string;
  /** Public endpoint only. */
  readonly webAcl: CfnWebACL | undefined;

  constructor(scope: Construct, id: string, props: AdmissionWebhookEndpointProps) {
    super(scope, id);
    const { access } = props;
    const vpcEndpoint = access.type === 'private' ? this.vpcEndpoint(access) : undefined;
    const { api, accessLogs, validator } = controlPlaneRestApi(this, {
      // Its own name: API Gateway's metrics (and so the webhook's alarms) are keyed by it.
      name: `${Stack.of(this).stackName}${props.cluster ? `-${props.cluster}` : ''}-admission-webhook`,
      description: 'Inference budget admission webhook (secret path, called by the Kubernetes API server)',
      stageName: 'admission',
      throttle: WEBHOOK_THROTTLE,
      tracing: false,
      ...(vpcEndpoint && {
        endpointConfiguration: { types: [EndpointType.PRIVATE], vpcEndpoints: [vpcEndpoint] },
        policy: onlyThrough(vpcEndpoint.vpcEndpointId),
      }),
      ...(props.logRetention && { logRetention: props.logRetention }),
    });
    this.api = api;
    // Its access logs record the route template only: the path holds the secret.
    this.accessLogs = accessLogs;

    const integration = new LambdaIntegration(props.handler, { allowTestInvoke: false });
    const post = (resource: IResource) => {
      const method = resource.addMethod('POST', integration, {
        authorizationType: AuthorizationType.NONE,
        requestValidator: validator,
        requestParameters: { 'method.request.path.secret': true },
      });
      acknowledge(
        method,
        'The Kubernetes API server cannot sign requests or fetch tokens for a webhook: the handler authenticates the secret path segment (docs/webhook.md).',
        'APIG4',
        'COG4',
      );
    };
    const secret = this.api.root.addResource('webhook').addResource('{secret}');
    post(secret);
    post(secret.addResource('mutate'));

    const stack = Stack.of(this);
    this.baseUrl = vpcEndpoint
      ? // The endpoint-specific host resolves to the endpoint from anywhere, without private DNS in the VPC.
        `https://${api.restApiId}-${vpcEndpoint.vpcEndpointId}.execute-api.${stack.region}.${stack.urlSuffix}/${api.deploymentStage.stageName}/`
      : api.url;
    this.webAcl = access.type === 'public' ? this.rateLimit(props.cluster) : undefined;
  }

  /**
   * Private DNS stays off: it would send every execute-api host in the VPC to this endpoint, breaking
   * calls from the VPC to other public APIs. The webhook URL names the endpoint instead.
   */
  private vpcEndpoint(access: Extract<WebhookAccess, { type: 'private' }>): InterfaceVpcEndpoint {
    const group = new SecurityGroup(this, 'EndpointGroup', {
      vpc: access.vpc,
      description: 'Inference budget admission webhook endpoint: HTTPS from the cluster security group only',
      allowAllOutbound: false,
    });
    group.addIngressRule(
      Peer.securityGroupId(access.clusterSecurityGroupId),
      Port.tcp(443),
      'EKS control plane (cluster security group) to the admission webhook',
    );
    return new InterfaceVpcEndpoint(this, 'ExecuteApiEndpoint', {
      vpc: access.vpc,
      service: InterfaceVpcEndpointAwsService.APIGATEWAY,
      subnets: { subnets: access.subnets },
      securityGroups: [group],
      privateDnsEnabled: false,
      open: false,
    });
  }

  private rateLimit(cluster: string | undefined): CfnWebACL {
    // No sampled requests and no WAF logging: both would keep the URI, which holds the secret.
    const visibility = (metricName: string) => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: false,
    });
    const acl = new CfnWebACL(this, 'RateLimit', {
      // Named, since its CloudWatch metrics (and the WebhookRateLimited alarm) are keyed by the name.
      name: `${Stack.of(this).stackName}${cluster ? `-${cluster}` : ''}-webhook`,
      description: 'Admission webhook: blocks a source IP that floods the endpoint',
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('WebhookWebAcl'),
      rules: [
        {
          name: WEBHOOK_RATE_RULE,
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: WEBHOOK_RATE_LIMIT_PER_MINUTE,
              evaluationWindowSec: 60,
              aggregateKeyType: 'IP',
            },
          },
          visibilityConfig: visibility(WEBHOOK_RATE_RULE),
        },
      ],
    });
    new CfnWebACLAssociation(this, 'RateLimitAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
    return acl;
  }
}

/** Allows invocations that come through the endpoint, and denies every other, whoever signs them. */
function onlyThrough(vpcEndpointId: string): PolicyDocument {
  const invoke = {
    principals: [new AnyPrincipal()],
    actions: ['execute-api:Invoke'],
    resources: ['execute-api:/*'],
  };
  return new PolicyDocument({
    statements: [
      new PolicyStatement({ effect: Effect.ALLOW, ...invoke }),
      new PolicyStatement({
        effect: Effect.DENY,
        ...invoke,
        conditions: { StringNotEquals: { 'aws:SourceVpce': vpcEndpointId } },
      }),
    ],
  });
}
