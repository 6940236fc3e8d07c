import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from './stack-fixture.js';

describe('OnCallTopic', () => {
  const { template } = synthStack({
    clusterName: 'gpu-inference',
    onCallEmails: ['oncall@example.com', 'lead@example.com'],
    onCallUrls: ['https://events.pager.example.com/integration/abc'],
  });

  it('is encrypted with the stack key and refuses plain HTTP', () => {
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
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

  it('subscribes every configured email and HTTPS URL', () => {
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

  it('has no subscriptions when none are configured', () => {
    synthStack().template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});
