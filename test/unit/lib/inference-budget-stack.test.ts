import { synthStack } from './stack-fixture.js';

describe('InferenceBudgetStack', () => {
  const { template } = synthStack();

  it('composes the ledger, the bus, the webhook secret, the functions, the rules and the on-call topic', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Lambda::Function', 4);
    template.resourceCountIs('AWS::Events::Rule', 2);
    template.resourceCountIs('AWS::SNS::Topic', 1);
  });

  it('creates a KMS-encrypted, retained webhook secret of URL-safe characters when none is given', () => {
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
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
    const { template: withSecret } = synthStack({ clusterName: 'gpu-inference', webhookSecretArn: arn });
    withSecret.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const statements = Object.values(withSecret.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const secretReads = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secretReads.map((s) => s.Resource)).toEqual([arn]);
  });
});
