import {
  AdmissionWebhookEndpoint,
  WEBHOOK_RATE_LIMIT_PER_MINUTE,
} from '../../../lib/admission-webhook-endpoint.js';
import { LambdaNetwork } from '../../../lib/lambda-network.js';
import { aFunction, CLUSTER_VPC, onBareStack, synthStack } from './stack-fixture.js';

type Resource = { Properties: Record<string, unknown> };

/** The endpoint on a bare Stack: private in the cluster's VPC (as LambdaNetwork imports it), or public. */
function endpointOn(access: 'private' | 'public') {
  return onBareStack((stack) => {
    const handler = aFunction(stack, 'Handler');
    if (access === 'public') {
      return new AdmissionWebhookEndpoint(stack, 'WebhookEndpoint', { handler, access: { type: 'public' } });
    }
    const { vpc, subnets } = new LambdaNetwork(stack, 'Network', CLUSTER_VPC);
    return new AdmissionWebhookEndpoint(stack, 'WebhookEndpoint', {
      handler,
      access: { type: 'private', vpc, subnets, clusterSecurityGroupId: CLUSTER_VPC.clusterSecurityGroupId },
    });
  });
}

function webhookOf({ construct, stack, template }: ReturnType<typeof endpointOn>) {
  const apiId = stack.getLogicalId(
    construct.api.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );
  const ofApi = (type: string): Resource[] =>
    Object.values(template.findResources(type) as Record<string, Resource>).filter(
      (resource) => JSON.stringify(resource.Properties.RestApiId) === JSON.stringify({ Ref: apiId }),
    );
  const api = template.findResources('AWS::ApiGateway::RestApi')[apiId] as Resource;
  return { apiId, api, ofApi };
}

describe('AdmissionWebhookEndpoint', () => {
  const privateStack = endpointOn('private');
  const { ofApi, api } = webhookOf(privateStack);

  it('routes only POST /webhook/{secret} and /webhook/{secret}/mutate to the handler: other paths never invoke it', () => {
    const parts = ofApi('AWS::ApiGateway::Resource').map((r) => r.Properties.PathPart);
    expect(parts.sort()).toEqual(['mutate', 'webhook', '{secret}']);
    expect(parts).not.toContain('{proxy+}');
    const methods = ofApi('AWS::ApiGateway::Method').map((m) => m.Properties);
    expect(methods).toHaveLength(2);
    for (const method of methods) {
      expect(method).toEqual(
        expect.objectContaining({
          HttpMethod: 'POST',
          AuthorizationType: 'NONE',
          RequestParameters: { 'method.request.path.secret': true },
          Integration: expect.objectContaining({ Type: 'AWS_PROXY' }),
        }),
      );
    }
  });

  it('throttles, logs the route template only and keeps the stage out of X-Ray: the path is the secret', () => {
    const [stage] = ofApi('AWS::ApiGateway::Stage');
    expect(stage!.Properties).toMatchObject({
      StageName: 'admission',
      TracingEnabled: false,
      MethodSettings: [expect.objectContaining({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 })],
    });
    const { Format } = (stage!.Properties as { AccessLogSetting: { Format: string } }).AccessLogSetting;
    expect(Format).toContain('$context.resourcePath');
    expect(Format).not.toContain('$context.path');
  });

  describe('private (the default)', () => {
    const { template, construct } = privateStack;
    const [endpointId, endpoint] = Object.entries(template.findResources('AWS::EC2::VPCEndpoint'))[0]!;

    it('is a private API behind an execute-api endpoint in the cluster VPC, without private DNS', () => {
      expect(api.Properties.EndpointConfiguration).toEqual({
        Types: ['PRIVATE'],
        VpcEndpointIds: [{ Ref: endpointId }],
      });
      expect(endpoint.Properties).toMatchObject({
        VpcId: CLUSTER_VPC.vpcId,
        VpcEndpointType: 'Interface',
        SubnetIds: CLUSTER_VPC.subnetIds,
        PrivateDnsEnabled: false,
      });
      expect(JSON.stringify(endpoint.Properties.ServiceName)).toContain('execute-api');
    });

    it('admits only requests through that endpoint (resource policy), from the cluster security group (443)', () => {
      expect(api.Properties.Policy).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: '*' },
            Action: 'execute-api:Invoke',
            Resource: 'execute-api:/*',
          },
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'execute-api:Invoke',
            Resource: 'execute-api:/*',
            Condition: { StringNotEquals: { 'aws:SourceVpce': { Ref: endpointId } } },
          },
        ],
      });
      const [groupRef] = endpoint.Properties.SecurityGroupIds as { 'Fn::GetAtt': [string, string] }[];
      const group = template.findResources('AWS::EC2::SecurityGroup')[groupRef!['Fn::GetAtt'][0]] as Resource;
      expect(group.Properties.SecurityGroupIngress).toEqual([
        expect.objectContaining({
          SourceSecurityGroupId: CLUSTER_VPC.clusterSecurityGroupId,
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
        }),
      ]);
    });

    it('has no web ACL', () => {
      template.resourceCountIs('AWS::WAFv2::WebACL', 0);
      expect(construct.webAcl).toBeUndefined();
    });
  });

  describe('public (opt-in)', () => {
    const publicStack = endpointOn('public');
    const { template } = publicStack;
    const publicApi = webhookOf(publicStack).api;

    it('is a regional API with no VPC endpoint', () => {
      expect(publicApi.Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
      expect(publicApi.Properties.Policy).toBeUndefined();
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    });

    it('puts a WAF rate-based rule per source IP on the stage, keeping no sampled requests', () => {
      const [aclId, acl] = Object.entries(template.findResources('AWS::WAFv2::WebACL'))[0]!;
      expect(acl.Properties).toMatchObject({
        Scope: 'REGIONAL',
        DefaultAction: { Allow: {} },
        VisibilityConfig: { SampledRequestsEnabled: false },
        Rules: [
          {
            Action: { Block: {} },
            Statement: {
              RateBasedStatement: {
                Limit: WEBHOOK_RATE_LIMIT_PER_MINUTE,
                EvaluationWindowSec: 60,
                AggregateKeyType: 'IP',
              },
            },
            VisibilityConfig: { SampledRequestsEnabled: false },
          },
        ],
      });
      const [association] = Object.values(template.findResources('AWS::WAFv2::WebACLAssociation'));
      expect(association!.Properties.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
      expect(JSON.stringify(association!.Properties.ResourceArn)).toMatch(
        /restapis.*WebhookEndpointApi.*\/stages\/.*DeploymentStageadmission/,
      );
    });
  });
});

describe('AdmissionWebhookEndpoint in the control-plane stack', () => {
  it('gives the endpoint-specific URL as WebhookBaseUrl', () => {
    const { template } = synthStack();
    const [endpointId] = Object.keys(template.findResources('AWS::EC2::VPCEndpoint'));
    const url = JSON.stringify(template.findOutputs('WebhookBaseUrl').WebhookBaseUrl!.Value);
    expect(url).toContain(endpointId);
    expect(url).toContain('.execute-api.');
  });
});
