import { synthStack } from './stack-fixture.js';

describe('InferenceBudgetStack', () => {
  const { template } = synthStack();

  it('composes every concern, one construct each', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    // The data key, and the on-call topic's own.
    template.resourceCountIs('AWS::KMS::Key', 2);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Lambda::Function', 5);
    template.resourceCountIs('AWS::Events::Rule', 4);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 2);
    template.resourceCountIs('AWS::APS::Workspace', 1);
    template.resourceCountIs('AWS::EKS::AccessEntry', 5);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThan(10);
  });

  it('outputs what docs/deploy.md tells the operator to use', () => {
    expect(Object.keys(template.findOutputs('*')).sort()).toEqual([
      'DashboardName',
      'KubernetesInstall',
      'LedgerTableName',
      'OnCallTopicArn',
      'PrometheusWorkspaceArn',
      'WarmUpApiUrl',
      'WebhookBaseUrl',
      'WebhookSecretArn',
    ]);
  });

  it('creates a KMS-encrypted, retained webhook secret of URL-safe characters when none is given', () => {
    const { stack } = synthStack();
    const keyId = stack.getLogicalId(
      stack.node.findChild('DataKey').node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
    );
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: {
        KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
        GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
      },
    });
  });

  it('uses an existing secret, and grants only it, when its ARN is configured', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ibcp-webhook-AbCdEf';
    const { template: withSecret } = synthStack({ webhookSecretArn: arn });
    withSecret.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const statements = Object.values(withSecret.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const secretReads = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secretReads.map((s) => s.Resource)).toEqual([arn]);
  });
});
