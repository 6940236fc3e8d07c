import { Match } from 'aws-cdk-lib/assertions';
import { OnCallTopic } from '../../../lib/on-call-topic.js';
import { onBareStack, synthStack } from './stack-fixture.js';

describe('OnCallTopic', () => {
  const {
    construct: onCall,
    stack,
    template,
  } = onBareStack(
    (stack) =>
      new OnCallTopic(stack, 'OnCall', {
        emails: ['oncall@example.com', 'lead@example.com'],
        urls: ['https://events.pager.example.com/integration/abc'],
      }),
  );
  const topicKeyId = stack.getLogicalId(
    onCall.key.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
  );

  it('is encrypted with a key of its own and refuses plain HTTP', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [topicKeyId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('lets CloudWatch alarms and the AMP alert manager, and only them, use its key', () => {
    const key = template.findResources('AWS::KMS::Key')[topicKeyId]!;
    const services = (
      key.Properties.KeyPolicy.Statement as { Principal?: { Service?: string }; Action: string[] }[]
    )
      .filter((statement) => statement.Principal?.Service)
      .map((statement) => [statement.Principal!.Service, [statement.Action].flat().sort()]);
    expect(services).toEqual(
      expect.arrayContaining([
        ['cloudwatch.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey*']],
        ['aps.amazonaws.com', ['kms:Decrypt', 'kms:GenerateDataKey*']],
      ]),
    );
    expect(services).toHaveLength(2);
  });

  it('subscribes every configured email and HTTPS URL', () => {
    // Two emails and one URL; the remediation Lambda's own subscription is the stack's (below).
    template.resourceCountIs('AWS::SNS::Subscription', 3);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'lead@example.com',
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://events.pager.example.com/integration/abc',
    });
  });

  it("has only the remediation Lambda's subscription when none are configured", () => {
    synthStack().template.resourceCountIs('AWS::SNS::Subscription', 1);
  });
});
