import { Match } from 'aws-cdk-lib/assertions';
import type { Stack } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { RemediationTriggers } from '../../../lib/remediation-triggers.js';
import { aFunction, onBareStack, synthStack } from './stack-fixture.js';

const id = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);

/** What `{ prefix: <this stack's alarm ARN prefix><name> }` synthesizes to. */
const alarmPrefix = (name: string) => ({
  prefix: {
    'Fn::Join': [
      '',
      ['arn:', { Ref: 'AWS::Partition' }, `:cloudwatch:eu-west-1:123456789012:alarm:Test-${name}`],
    ],
  },
});

describe('RemediationTriggers', () => {
  const { stack, template } = onBareStack(
    (stack) =>
      new RemediationTriggers(stack, 'RemediationTriggers', {
        remediation: aFunction(stack, 'Remediation'),
        alertTopic: new Topic(stack, 'OnCall'),
      }),
  );
  const remediationId = id(stack, stack.node.findChild('Remediation'));
  const topicId = id(stack, stack.node.findChild('OnCall'));

  it('takes only the alert manager’s messages from the on-call topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: topicId },
      Endpoint: { 'Fn::GetAtt': [remediationId, 'Arn'] },
      FilterPolicy: { source: ['amp-alertmanager'] },
    });
  });

  it("is woken only by this stack's CloudWatch alarms named after a playbook alert, and by a one-minute tick", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: [
          'GPUMemoryUsageHigh',
          'ExpertLoadImbalance',
          'MoETrainingLossHigh',
          'InferenceLatencyHigh',
        ].map(alarmPrefix),
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [remediationId, 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [remediationId, 'Arn'] } })],
    });
  });
});

describe('RemediationTriggers in the control-plane stack', () => {
  const { stack, template } = synthStack({
    remediation: { InferenceLatencyHigh: 'dry-run' },
    runbookBaseUrl: 'https://runbooks.example.com/ibcp/',
  });
  const remediationId = id(stack, stack.functions.remediation);
  const topicId = id(stack, stack.onCall.topic);

  it('configures the Lambda from the config and lets it publish to the on-call topic only', () => {
    const fn = template.findResources('AWS::Lambda::Function')[remediationId]!;
    expect(fn.Properties.Environment.Variables).toMatchObject({
      ON_CALL_TOPIC_ARN: { Ref: topicId },
      REMEDIATION_INFERENCE_LATENCY_HIGH: 'dry-run',
      REMEDIATION_RUNBOOK_BASE_URL: 'https://runbooks.example.com/ibcp/',
      EKS_CLUSTER_NAME: 'gpu-inference',
      // The handler trusts the same prefix as the rule: a forged event names any alarm it likes.
      REMEDIATION_ALARM_ARN_PREFIX: alarmPrefix('').prefix,
    });
    const role = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const publishes = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
      )
      .filter((s) => [s.Action].flat().includes('sns:Publish'));
    expect(publishes.map((s) => s.Resource)).toEqual([{ Ref: topicId }]);
  });

  it('keeps a delivery that failed its retries in the failure queue', () => {
    const [queueId] = Object.keys(template.findResources('AWS::SQS::Queue'));
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: remediationId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
    });
  });
});
